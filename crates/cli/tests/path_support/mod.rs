//! A server namespace running xrdp on 3389 (TCP) and the lab's RDPEUDP responder (UDP 3389),
//! a client namespace running rdpdoctor, a veth pair between them.
#![allow(dead_code)]

use crate::common::Run;
use rdpdoctor_lab::udp::Responder;
use rdpdoctor_testkit::netns::{Netns, NetnsPair};
use rdpdoctor_testkit::servers::{self, Server, XrdpConfig};
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::time::Instant;

/// Fields drop in order: the servers stop before their namespaces go.
pub struct Lab {
    pub xrdp: Server,
    pub udp: Option<Responder>,
    pub pair: NetnsPair,
}

impl Lab {
    /// xrdp (security layer negotiate) in the server namespace, with the UDP responder; `None`
    /// after a SKIP line when xrdp or namespaces are not available here.
    pub fn start() -> Option<Lab> {
        if !rdpdoctor_testkit::require("xrdp", "xrdp") {
            return None;
        }
        let pair = NetnsPair::new()?;
        let ip = IpAddr::V4(pair.server_ip);
        let xrdp =
            servers::xrdp(XrdpConfig::new("negotiate").in_netns(&pair.server.name, ip, 3389));
        let addr = SocketAddr::new(ip, 3389);
        let socket = pair
            .server
            .enter(move || UdpSocket::bind(addr))
            .expect("UDP 3389 inside the namespace");
        Some(Lab {
            xrdp,
            udp: Some(Responder::on(socket).expect("UDP responder")),
            pair,
        })
    }

    /// `10.213.x.y:3389`.
    pub fn target(&self) -> String {
        format!("{}:3389", self.pair.server_ip)
    }

    /// `rdpdoctor check TARGET --format json ARGS` from the client namespace.
    pub fn check(&self, extra: &[&str]) -> (Run, serde_json::Value) {
        let target = self.target();
        let mut args = vec!["check", target.as_str(), "--format", "json"];
        args.extend_from_slice(extra);
        let run = rdpdoctor_in(&self.pair.client, &args);
        let v = run.json();
        (run, v)
    }
}

/// Run the rdpdoctor binary inside `ns`.
pub fn rdpdoctor_in(ns: &Netns, args: &[&str]) -> Run {
    let started = Instant::now();
    let out = ns
        .command(env!("CARGO_BIN_EXE_rdpdoctor"))
        .args(args)
        .output()
        .expect("run rdpdoctor in the namespace");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        elapsed: started.elapsed(),
    }
}
