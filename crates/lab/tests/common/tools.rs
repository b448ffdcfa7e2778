//! External tools: sslscan, nmap, xfreerdp (under an Xvfb of our own).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The tool's path, or `None` after printing why the check is skipped.
pub fn tool(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        eprintln!("SKIP: `{name}` is not installed; this independent check did not run");
    }
    found
}

/// Runs a command with a deadline; kills it (by its own handle) when the deadline passes.
pub fn run(cmd: &mut Command, deadline: Duration) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn tool");
    let start = Instant::now();
    loop {
        if child.try_wait().expect("wait").is_some() {
            return child.wait_with_output().expect("output");
        }
        if start.elapsed() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().expect("output");
            panic!(
                "tool timed out after {deadline:?}\nstdout:\n{}\nstderr:\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// An Xvfb server started for this test process, on a display nobody else uses.
pub struct Xvfb {
    child: Child,
    pub display: String,
}

impl Xvfb {
    pub fn start() -> Option<Xvfb> {
        let xvfb = tool("Xvfb")?;
        let base = 150 + std::process::id() % 200;
        for n in base..base + 50 {
            let socket = format!("/tmp/.X11-unix/X{n}");
            let lock = format!("/tmp/.X{n}-lock");
            if Path::new(&socket).exists() || Path::new(&lock).exists() {
                continue;
            }
            let mut child = Command::new(&xvfb)
                .args([
                    format!(":{n}").as_str(),
                    "-screen",
                    "0",
                    "1024x768x24",
                    "-nolisten",
                    "tcp",
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .ok()?;
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(5) {
                if Path::new(&socket).exists() {
                    // The socket may belong to another process that won the race for this
                    // display: ours then exits on the lock. Make sure it is still running.
                    std::thread::sleep(Duration::from_millis(100));
                    if child.try_wait().ok().flatten().is_some() {
                        break;
                    }
                    return Some(Xvfb {
                        child,
                        display: format!(":{n}"),
                    });
                }
                if child.try_wait().ok().flatten().is_some() {
                    break; // lost a race for this display; try the next one
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        eprintln!("SKIP: could not start Xvfb");
        None
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
