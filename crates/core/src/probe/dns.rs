//! Stage 1, dns: every A and AAAA address of the target name, with the time taken.

use hickory_resolver::TokioResolver;
use hickory_resolver::config::LookupIpStrategy;
use std::time::{Duration, Instant};

use crate::evidence::{DnsResolution, ErrorKind, Stage, StageError, StageName};

/// A resolver built once from the system configuration and shared (it is `Arc`-backed), so a
/// fleet scan does not re-read `/etc/resolv.conf` or the Windows registry per target.
#[derive(Clone)]
pub struct Resolver {
    inner: Option<TokioResolver>,
    setup_error: Option<String>,
}

impl Resolver {
    /// The system resolver (hosts file, then the configured DNS servers). Caching is off so the
    /// time reported is the resolver's real time.
    pub fn system(timeout: Duration) -> Resolver {
        match TokioResolver::builder_tokio() {
            Ok(mut b) => {
                let o = b.options_mut();
                o.timeout = timeout;
                o.attempts = 2;
                o.cache_size = 0;
                o.ip_strategy = LookupIpStrategy::Ipv4AndIpv6;
                match b.build() {
                    Ok(r) => Resolver {
                        inner: Some(r),
                        setup_error: None,
                    },
                    Err(e) => Resolver {
                        inner: None,
                        setup_error: Some(e.to_string()),
                    },
                }
            }
            Err(e) => Resolver {
                inner: None,
                setup_error: Some(e.to_string()),
            },
        }
    }

    /// Resolve `name` within `deadline`.
    pub async fn resolve(&self, name: &str, deadline: Duration) -> Stage<DnsResolution> {
        let started = Instant::now();
        let Some(resolver) = &self.inner else {
            let msg = format!(
                "the system resolver configuration could not be read: {}",
                self.setup_error.as_deref().unwrap_or("unknown error")
            );
            return Stage::failed(StageError::new(
                StageName::Dns,
                ErrorKind::Resolver,
                started.elapsed(),
                msg,
            ));
        };
        let fqdn_query = name.trim_end_matches('.');
        let result = tokio::time::timeout(deadline, resolver.lookup_ip(fqdn_query)).await;
        let elapsed = started.elapsed();
        match result {
            Err(_) => Stage::failed(StageError::new(
                StageName::Dns,
                ErrorKind::Timeout,
                elapsed,
                format!("no answer for {name} within {} ms", deadline.as_millis()),
            )),
            Ok(Err(e)) => {
                let (kind, msg) = if e.is_nx_domain() {
                    (
                        ErrorKind::NxDomain,
                        format!("{name} does not exist (NXDOMAIN)"),
                    )
                } else if e.is_no_records_found() {
                    (
                        ErrorKind::NoAnswer,
                        format!("{name} exists but has no A or AAAA record"),
                    )
                } else {
                    (ErrorKind::NoAnswer, format!("resolving {name} failed: {e}"))
                };
                Stage::failed(StageError::new(StageName::Dns, kind, elapsed, msg))
            }
            Ok(Ok(lookup)) => {
                let mut addresses = Vec::new();
                for ip in lookup.iter() {
                    if !addresses.contains(&ip) {
                        addresses.push(ip);
                    }
                }
                if addresses.is_empty() {
                    return Stage::failed(StageError::new(
                        StageName::Dns,
                        ErrorKind::NoAnswer,
                        elapsed,
                        format!("{name} has no A or AAAA record"),
                    ));
                }
                let ttl = lookup
                    .valid_until()
                    .saturating_duration_since(std::time::Instant::now())
                    .as_secs();
                Stage::ok(
                    elapsed,
                    DnsResolution {
                        name: name.to_string(),
                        addresses,
                        canonical_name: None,
                        ttl_seconds: u32::try_from(ttl).ok().filter(|t| *t > 0),
                    },
                )
            }
        }
    }
}
