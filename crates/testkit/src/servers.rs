//! Real RDP servers for integration tests: xrdp and the FreeRDP shadow server.
//!
//! Each instance gets its own temporary directory, configuration and loopback port, runs in its
//! own process group (xrdp forks per connection; children stuck on a dead peer ignore SIGTERM)
//! and is killed with SIGKILL on drop. Nothing here needs root.

use std::net::{SocketAddr, TcpListener};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::certs::{self, CertFiles, CertSpec};

/// A running server; stopped on drop.
pub struct Server {
    pub addr: SocketAddr,
    pub name: String,
    child: Child,
    pub dir: tempfile::TempDir,
    log: PathBuf,
    /// The certificate the server presents, when it has one.
    pub cert: Option<CertFiles>,
}

impl Server {
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `127.0.0.1:PORT`.
    pub fn target(&self) -> String {
        self.addr.to_string()
    }

    /// The server's log, for assertion messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        kill_group(self.child.id());
        let _ = self.child.wait();
    }
}

fn kill_group(pid: u32) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{pid}")])
        .stderr(Stdio::null())
        .status();
}

/// A free loopback port. Ports are handed out once per process so parallel tests never race
/// for the same one.
pub fn free_port() -> u16 {
    static USED: Mutex<Vec<u16>> = Mutex::new(Vec::new());
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("bind");
        let mut used = USED.lock().unwrap_or_else(|p| p.into_inner());
        if !used.contains(&port) {
            used.push(port);
            return port;
        }
    }
}

/// Wait until something listens on `addr` (read from /proc, so no probe connection disturbs a
/// server with a listen backlog of 2). Panics with the server's log when it does not. The
/// tables are read through the child's own /proc entry, so a server inside a network namespace
/// is seen in its namespace.
fn wait_listening(addr: SocketAddr, child: &mut Child, log: &Path, what: &str) {
    if let Err(e) = try_wait_listening(addr, child, log, what) {
        panic!("{e}");
    }
}

/// Like [`wait_listening`], returning the failure (with the log) instead of panicking.
fn try_wait_listening(
    addr: SocketAddr,
    child: &mut Child,
    log: &Path,
    what: &str,
) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let needle = format!(":{:04X} 00000000:0000 0A", addr.port());
    let pid = child.id();
    while Instant::now() < deadline {
        let tcp = std::fs::read_to_string(format!("/proc/{pid}/net/tcp")).unwrap_or_default();
        let tcp6 = std::fs::read_to_string(format!("/proc/{pid}/net/tcp6")).unwrap_or_default();
        if tcp.lines().chain(tcp6.lines()).any(|l| l.contains(&needle)) {
            return Ok(());
        }
        if let Ok(Some(status)) = child.try_wait() {
            let log = std::fs::read_to_string(log).unwrap_or_default();
            return Err(format!(
                "{what} exited ({status}) before listening on {addr}:\n{log}"
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let log = std::fs::read_to_string(log).unwrap_or_default();
    Err(format!(
        "{what} did not listen on {addr} within 10 s:\n{log}"
    ))
}

/// How to configure an xrdp instance (`[Globals]` keys of xrdp.ini).
#[derive(Clone, Debug)]
pub struct XrdpConfig {
    /// `negotiate`, `tls` or `rdp`.
    pub security_layer: &'static str,
    /// The certificate to serve; `None` with `missing_certificate` false uses a valid one.
    pub certificate: Option<CertSpec>,
    /// Point `certificate=` at a file that does not exist (SSL_CERT_NOT_ON_SERVER).
    pub missing_certificate: bool,
    /// `ssl_protocols=`, e.g. `TLSv1.2, TLSv1.3` or `TLSv1`.
    pub ssl_protocols: Option<String>,
    /// `tls_ciphers=` (OpenSSL cipher string), e.g. `AES128-SHA:@SECLEVEL=0`.
    pub tls_ciphers: Option<String>,
    /// Address to bind (any 127.x.y.z, or the server address inside `netns`).
    pub bind: std::net::IpAddr,
    /// Port to listen on; a free loopback port when `None`.
    pub port: Option<u16>,
    /// Run inside this network namespace (`ip netns exec NAME xrdp ...`).
    pub netns: Option<String>,
    /// Log at DEBUG (tests: the log explains a failure). Benchmarks keep the package's level:
    /// DEBUG makes xrdp about ten times slower per connection.
    pub debug_log: bool,
}

impl XrdpConfig {
    pub fn new(security_layer: &'static str) -> XrdpConfig {
        XrdpConfig {
            security_layer,
            certificate: None,
            missing_certificate: false,
            ssl_protocols: None,
            tls_ciphers: None,
            bind: std::net::IpAddr::from([127, 0, 0, 1]),
            port: None,
            netns: None,
            debug_log: true,
        }
    }

    /// Listen on this loopback address and port.
    pub fn at(mut self, addr: SocketAddr) -> Self {
        self.bind = addr.ip();
        self.port = Some(addr.port());
        self
    }

    /// Keep the packaged xrdp.ini's log level, as deployed (for benchmarks).
    pub fn packaged_log_level(mut self) -> Self {
        self.debug_log = false;
        self
    }

    /// Listen on `bind:port` inside the namespace `netns`.
    pub fn in_netns(mut self, netns: &str, bind: std::net::IpAddr, port: u16) -> Self {
        self.netns = Some(netns.into());
        self.bind = bind;
        self.port = Some(port);
        self
    }

    pub fn cert(mut self, spec: CertSpec) -> Self {
        self.certificate = Some(spec);
        self
    }

    pub fn missing_cert(mut self) -> Self {
        self.missing_certificate = true;
        self
    }

    pub fn protocols(mut self, p: &str) -> Self {
        self.ssl_protocols = Some(p.into());
        self
    }

    pub fn ciphers(mut self, c: &str) -> Self {
        self.tls_ciphers = Some(c.into());
        self
    }
}

/// Start an xrdp instance (no sesman, no Xorg: the daemon alone completes X.224 and TLS).
pub fn xrdp(config: XrdpConfig) -> Server {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = config.port.unwrap_or_else(free_port);
    let addr = SocketAddr::new(config.bind, port);
    let cert = if config.missing_certificate {
        None
    } else {
        Some(certs::write(
            dir.path(),
            "server",
            &config
                .certificate
                .clone()
                .unwrap_or_else(|| CertSpec::valid("localhost")),
        ))
    };
    let (cert_path, key_path) = match &cert {
        Some(c) => (c.cert.display().to_string(), c.key.display().to_string()),
        None => (
            dir.path().join("missing.pem").display().to_string(),
            dir.path().join("missing.key").display().to_string(),
        ),
    };
    let log = dir.path().join("xrdp.log");
    let mut globals = vec![
        ("port".to_string(), format!("tcp://{}:{port}", config.bind)),
        ("security_layer".into(), config.security_layer.into()),
        ("certificate".into(), cert_path),
        ("key_file".into(), key_path),
        ("fork".into(), "true".into()),
    ];
    if let Some(p) = &config.ssl_protocols {
        globals.push(("ssl_protocols".into(), p.clone()));
    }
    if let Some(c) = &config.tls_ciphers {
        globals.push(("tls_ciphers".into(), c.clone()));
    }
    let ini = xrdp_ini(&globals, &log, config.debug_log);
    let ini_path = dir.path().join("xrdp.ini");
    std::fs::write(&ini_path, ini).expect("write xrdp.ini");
    let out = std::fs::File::create(dir.path().join("xrdp.out")).expect("out file");
    let mut command = match &config.netns {
        Some(ns) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", ns, "xrdp"]);
            c
        }
        None => Command::new("xrdp"),
    };
    let mut child = command
        .args(["--nodaemon", "--config"])
        .arg(&ini_path)
        .stdout(out.try_clone().expect("dup"))
        .stderr(out)
        .process_group(0)
        .spawn()
        .expect("xrdp must be installed (apt-get install xrdp)");
    wait_listening(addr, &mut child, &log, "xrdp");
    Server {
        addr,
        name: format!("xrdp-{}", config.security_layer),
        child,
        dir,
        log,
        cert,
    }
}

/// xrdp.ini from the packaged one with `[Globals]` keys replaced or added, and logging sent to
/// `log` (at DEBUG when `debug`).
fn xrdp_ini(globals: &[(String, String)], log: &Path, debug: bool) -> String {
    let packaged = std::fs::read_to_string("/etc/xrdp/xrdp.ini")
        .unwrap_or_else(|_| "[Globals]\n[Logging]\n".into());
    let mut out = Vec::new();
    let mut section = String::new();
    let mut written: Vec<&str> = Vec::new();
    let flush_globals = |out: &mut Vec<String>, written: &mut Vec<&str>| {
        for (k, v) in globals {
            if !written.contains(&k.as_str()) {
                out.push(format!("{k}={v}"));
            }
        }
        written.clear();
    };
    for line in packaged.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            if section == "[Globals]" {
                flush_globals(&mut out, &mut written);
            }
            section = trimmed.to_string();
            out.push(line.to_string());
            continue;
        }
        let key = trimmed.split('=').next().unwrap_or("").trim();
        if section == "[Globals]"
            && let Some((k, v)) = globals.iter().find(|(k, _)| k == key)
        {
            out.push(format!("{k}={v}"));
            written.push(k.as_str());
            continue;
        }
        if section == "[Logging]" {
            match key {
                "LogFile" => {
                    out.push(format!("LogFile={}", log.display()));
                    continue;
                }
                "EnableSyslog" => {
                    out.push("EnableSyslog=false".into());
                    continue;
                }
                "LogLevel" if debug => {
                    out.push("LogLevel=DEBUG".into());
                    continue;
                }
                _ => {}
            }
        }
        out.push(line.to_string());
    }
    if section == "[Globals]" {
        flush_globals(&mut out, &mut written);
    }
    out.join("\n") + "\n"
}

/// One Xvfb display per test process, shared by every FreeRDP server.
///
/// Xvfb picks a free display itself and writes its number to `-displayfd` once it accepts
/// connections, so there is no guessing and no race with stale sockets in /tmp/.X11-unix.
// The watchdog shell must outlive this function: it is kept in the static and ends on its own
// when the test process does.
#[allow(clippy::zombie_processes)]
fn display() -> &'static str {
    static DISPLAY: OnceLock<(String, tempfile::TempDir, Mutex<Child>)> = OnceLock::new();
    &DISPLAY
        .get_or_init(|| {
            let dir = tempfile::tempdir().expect("tempdir");
            let number_file = dir.path().join("display");
            // Xvfb outlives nothing: a watchdog shell kills it when this test process is gone
            // (statics are never dropped, and a killed test run must not leave a display behind).
            let script = format!(
                "Xvfb -displayfd 3 -screen 0 1024x768x24 -nolisten tcp 3>'{file}' >/dev/null 2>&1 & x=$!; \
                 while kill -0 {parent} 2>/dev/null && kill -0 $x 2>/dev/null; do sleep 1; done; kill -9 $x 2>/dev/null",
                file = number_file.display(),
                parent = std::process::id()
            );
            let watchdog = Command::new("sh")
                .args(["-c", &script])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .process_group(0)
                .spawn()
                .expect("sh");
            let deadline = Instant::now() + Duration::from_secs(15);
            loop {
                let text = std::fs::read_to_string(&number_file).unwrap_or_default();
                if let Some(line) = text.strip_suffix('\n')
                    && let Ok(n) = line.trim().parse::<u32>()
                    && std::os::unix::net::UnixStream::connect(format!("/tmp/.X11-unix/X{n}")).is_ok()
                {
                    return (format!(":{n}"), dir, Mutex::new(watchdog));
                }
                if Instant::now() > deadline {
                    let mut watchdog = watchdog;
                    let _ = watchdog.kill();
                    let _ = watchdog.wait();
                    panic!("Xvfb did not start within 15 s (apt-get install xvfb)");
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        })
        .0
}

/// How to configure a FreeRDP 2 shadow server.
#[derive(Clone, Debug)]
pub struct ShadowConfig {
    /// `/sec:` value: `nla`, `tls`, `rdp`, `ext`; `None` for the default (RDP+TLS).
    pub sec: Option<&'static str>,
    /// A SAM user (name, password) for NLA.
    pub user: Option<(String, String)>,
    /// The certificate to serve (pre-seeded in `$HOME/.config/freerdp/shadow/`).
    pub certificate: Option<CertSpec>,
}

impl ShadowConfig {
    /// NLA required, with a SAM account.
    pub fn nla(user: &str, password: &str) -> ShadowConfig {
        ShadowConfig {
            sec: Some("nla"),
            user: Some((user.into(), password.into())),
            certificate: None,
        }
    }
}

/// Start `freerdp-shadow-cli` on an Xvfb display.
pub fn freerdp_shadow(config: ShadowConfig) -> Server {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let home = dir.path().join("home");
    let shadow_dir = home.join(".config/freerdp/shadow");
    std::fs::create_dir_all(&shadow_dir).expect("mkdir");
    let spec = config
        .certificate
        .clone()
        .unwrap_or_else(|| CertSpec::valid("localhost"));
    let cert = certs::write(dir.path(), "server", &spec);
    std::fs::write(shadow_dir.join("shadow.crt"), &cert.cert_pem).expect("seed crt");
    std::fs::write(shadow_dir.join("shadow.key"), &cert.key_pem).expect("seed key");
    let mut args = vec![format!("/port:{port}"), "/bind-address:127.0.0.1".into()];
    if let Some(sec) = config.sec {
        args.push(format!("/sec:{sec}"));
    }
    if let Some((user, password)) = &config.user {
        let out = Command::new("winpr-hash")
            .args(["-u", user, "-p", password, "-f", "sam"])
            .output()
            .expect("winpr-hash (apt-get install winpr-utils)");
        let sam = dir.path().join("sam.txt");
        std::fs::write(
            &sam,
            format!("{}\n", String::from_utf8_lossy(&out.stdout).trim()),
        )
        .expect("write sam");
        args.push(format!("/sam-file:{}", sam.display()));
    }
    let log = dir.path().join("shadow.log");
    let start = || {
        let out = std::fs::File::create(&log).expect("log");
        Command::new("freerdp-shadow-cli")
            .args(&args)
            .env("DISPLAY", display())
            .env("HOME", &home)
            .stdout(out.try_clone().expect("dup"))
            .stderr(out)
            .process_group(0)
            .spawn()
            .expect("freerdp-shadow-cli must be installed (apt-get install freerdp2-shadow-x11)")
    };
    // Under load the shadow server sometimes fails to open the shared display on its first
    // try (X is busy with other clients); it then exits at once, so start it again.
    let mut child = start();
    let mut attempt = 1u64;
    loop {
        match try_wait_listening(addr, &mut child, &log, "freerdp-shadow-cli") {
            Ok(()) => break,
            Err(e) if attempt < 5 && e.contains("failed to open display") => {
                attempt += 1;
                std::thread::sleep(Duration::from_millis(200 * attempt));
                child = start();
            }
            Err(e) => {
                kill_group(child.id());
                let _ = child.wait();
                panic!("{e}");
            }
        }
    }
    Server {
        addr,
        name: format!("freerdp-shadow-{}", config.sec.unwrap_or("default")),
        child,
        dir,
        log,
        cert: Some(cert),
    }
}
