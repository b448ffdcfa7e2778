//! Network namespaces for tests: a client and a server namespace joined by a veth pair on a
//! private /30, with faults injected by iptables inside them.
//!
//! Nothing touches the host's own network: both ends live in namespaces the test creates
//! (the veth pair is created inside the client namespace with its peer moved straight into the
//! server namespace, so no interface ever appears on the host). Names carry the test process id
//! and a counter, so parallel tests never collide; each namespace is deleted on drop, which also
//! removes its veth end and firewall rules, even when the test panics. Namespaces left by a test
//! process that was killed are swept at the next start.
//!
//! Configuration shells out to `ip` and `iptables` (the workspace forbids unsafe code). Sockets
//! that must live in a namespace are created on a thread that entered it with `setns(2)` (safe
//! through nix); a socket stays in the namespace it was created in, whichever thread uses it.
//!
//! Segmentation offload is limited to one segment per packet on both veth ends (`gso_max_segs
//! 1`), so netfilter sees packets as they would be on a wire: otherwise a size rule (`-m
//! length`) would judge 64 KiB GSO super-packets and drop what a real link would carry.

pub mod delay;

use std::net::Ipv4Addr;
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

/// Prefix of every namespace this harness creates.
const PREFIX: &str = "rdt";

/// Whether namespaces can be made here (root, `ip` and `iptables` present). Prints a SKIP line
/// the first time it is false.
pub fn available() -> bool {
    static OK: OnceLock<bool> = OnceLock::new();
    *OK.get_or_init(|| {
        if !crate::have("ip") || !crate::have("iptables") {
            eprintln!("SKIP: network namespace tests need `ip` (iproute2) and `iptables`");
            return false;
        }
        sweep_stale();
        let probe = format!("{PREFIX}{}probe", std::process::id());
        let made = ip(&["netns", "add", &probe]).status.success();
        if made {
            let _ = ip(&["netns", "del", &probe]);
            true
        } else {
            eprintln!(
                "SKIP: cannot create network namespaces here (needs root / CAP_SYS_ADMIN): `ip netns add` failed"
            );
            false
        }
    })
}

fn ip(args: &[&str]) -> Output {
    Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run ip")
}

fn must_ip(args: &[&str]) {
    let out = ip(args);
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Delete namespaces whose creating test process is gone.
fn sweep_stale() {
    let list = String::from_utf8_lossy(&ip(&["netns", "list"]).stdout).into_owned();
    for line in list.lines() {
        let name = line.split_whitespace().next().unwrap_or("");
        let Some(rest) = name.strip_prefix(PREFIX) else {
            continue;
        };
        let pid: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
        if !pid.is_empty() && !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            let _ = ip(&["netns", "del", name]);
        }
    }
}

/// One network namespace, deleted on drop.
#[derive(Debug)]
pub struct Netns {
    pub name: String,
}

impl Netns {
    /// Create a namespace with a unique name (`tag` helps reading `ip netns list`).
    pub fn create(tag: char) -> Netns {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let name = format!("{PREFIX}{}x{n}{tag}", std::process::id());
        must_ip(&["netns", "add", &name]);
        let ns = Netns { name };
        ns.must(&["ip", "link", "set", "lo", "up"]);
        ns
    }

    /// `ip netns exec NAME program`, to be completed by the caller.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name]).arg(program);
        c
    }

    /// Run a command inside the namespace.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args[0])
            .args(&args[1..])
            .stdin(Stdio::null())
            .output()
            .expect("ip netns exec")
    }

    /// Run a command inside the namespace; panic with its stderr when it fails.
    pub fn must(&self, args: &[&str]) {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "in {}: {}: {}",
            self.name,
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Add an iptables rule inside the namespace, e.g.
    /// `-A INPUT -p tcp --dport 3389 -j DROP`.
    pub fn iptables(&self, rule: &str) {
        let mut args = vec!["iptables", "-w"];
        args.extend(rule.split_whitespace());
        self.must(&args);
    }

    /// Remove every iptables rule of the filter table inside the namespace.
    pub fn iptables_flush(&self) {
        self.must(&["iptables", "-w", "-F"]);
    }

    /// Run `f` on a thread inside the namespace and return its result. Sockets created by `f`
    /// belong to the namespace for their whole life.
    pub fn enter<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> T {
        let path = format!("/run/netns/{}", self.name);
        std::thread::spawn(move || {
            let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
            nix::sched::setns(&file, nix::sched::CloneFlags::CLONE_NEWNET)
                .unwrap_or_else(|e| panic!("setns {path}: {e}"));
            f()
        })
        .join()
        .expect("thread inside the namespace")
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = ip(&["netns", "del", &self.name]);
    }
}

/// A client and a server namespace joined by a veth pair: `client_ip` ↔ `server_ip` (/30).
///
/// Fields drop in declaration order: anything the test started inside (servers, delayers)
/// must be dropped before the pair, which the usual `let` order in a test gives.
#[derive(Debug)]
pub struct NetnsPair {
    pub client: Netns,
    pub server: Netns,
    pub client_ip: Ipv4Addr,
    pub server_ip: Ipv4Addr,
}

impl NetnsPair {
    /// Two fresh namespaces and the link between them, or `None` (after a SKIP line) where
    /// namespaces cannot be made.
    pub fn new() -> Option<NetnsPair> {
        if !available() {
            return None;
        }
        static SUBNET: AtomicU32 = AtomicU32::new(0);
        // A private /30 per pair: 10.213.<pid bits>.<4 n>.
        let n = SUBNET.fetch_add(1, Ordering::Relaxed);
        let third = (std::process::id() % 200) as u8 + (n / 64) as u8;
        let fourth = ((n % 64) * 4) as u8;
        let client_ip = Ipv4Addr::new(10, 213, third, fourth + 1);
        let server_ip = Ipv4Addr::new(10, 213, third, fourth + 2);
        let client = Netns::create('c');
        let server = Netns::create('s');
        must_ip(&[
            "-n",
            &client.name,
            "link",
            "add",
            "vc",
            "type",
            "veth",
            "peer",
            "name",
            "vs",
            "netns",
            &server.name,
        ]);
        for (ns, dev, addr) in [(&client, "vc", client_ip), (&server, "vs", server_ip)] {
            ns.must(&["ip", "addr", "add", &format!("{addr}/30"), "dev", dev]);
            ns.must(&["ip", "link", "set", dev, "gso_max_segs", "1"]);
            ns.must(&["ip", "link", "set", dev, "up"]);
        }
        Some(NetnsPair {
            client,
            server,
            client_ip,
            server_ip,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pair_is_made_and_cleaned_up() {
        let Some(pair) = NetnsPair::new() else {
            return;
        };
        let names = [pair.client.name.clone(), pair.server.name.clone()];
        // A socket made inside the server namespace can bind the server address, which does
        // not exist on the host.
        let addr = std::net::SocketAddr::from((pair.server_ip, 0));
        let listener = pair
            .server
            .enter(move || std::net::TcpListener::bind(addr))
            .expect("bind inside the namespace");
        assert!(
            std::net::TcpListener::bind(addr).is_err(),
            "not on the host"
        );
        pair.server.iptables("-A INPUT -p tcp --dport 3389 -j DROP");
        drop(listener);
        drop(pair);
        let list = String::from_utf8_lossy(&ip(&["netns", "list"]).stdout).into_owned();
        for n in names {
            assert!(!list.contains(&n), "{n} left behind");
        }
    }
}
