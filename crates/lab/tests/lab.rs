//! Starting and stopping labs: start-up time, fleets on many loopback addresses, fixed ports,
//! and that dropping a lab closes it.

mod common;

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use rdpdoctor_lab::{Hostile, Lab, LabConfig, Scenario};

#[test]
fn every_scenario_and_hostile_server_starts_quickly() {
    let mut all = Scenario::catalog();
    all.extend(Hostile::ALL.into_iter().map(Scenario::Hostile));
    let start = Instant::now();
    let lab = Lab::start(&all, LabConfig::default()).unwrap();
    let took = start.elapsed();
    eprintln!("started {} endpoints in {took:?}", lab.endpoints().len());
    assert_eq!(lab.endpoints().len(), all.len());
    // Debug build on a shared 2-core machine; release is far below this (see the report).
    assert!(took < Duration::from_secs(3), "{took:?}");
    for endpoint in lab.endpoints() {
        assert_eq!(endpoint.addr.ip(), IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_ne!(endpoint.addr.port(), 0);
        assert!(endpoint.udp.is_none());
    }
    assert!(
        lab.ca_certificate_pem()
            .starts_with("-----BEGIN CERTIFICATE-----")
    );
    assert_eq!(
        lab.endpoint("cert-expired").unwrap().scenario,
        Scenario::CertExpired
    );
}

#[test]
fn a_fleet_of_three_hundred_servers_on_as_many_addresses() {
    let catalog: Vec<Scenario> = Scenario::catalog()
        .into_iter()
        .filter(|s| !matches!(s, Scenario::Slow { .. } | Scenario::Silent))
        .collect();
    let placements: Vec<(Scenario, SocketAddr)> = (0..300u16)
        .map(|i| {
            let ip = Ipv4Addr::new(
                127,
                0,
                10 + u8::try_from(i / 200).unwrap(),
                1 + u8::try_from(i % 200).unwrap(),
            );
            (
                catalog[usize::from(i) % catalog.len()].clone(),
                SocketAddr::new(ip.into(), 0),
            )
        })
        .collect();
    let start = Instant::now();
    let lab = Lab::start_at(placements, LabConfig::default()).unwrap();
    eprintln!("300 endpoints on 300 addresses in {:?}", start.elapsed());
    let start = Instant::now();
    let mut answered = 0;
    for endpoint in lab.endpoints() {
        if matches!(endpoint.scenario, Scenario::Reset | Scenario::Http) {
            continue;
        }
        let (reply, _) = common::x224(endpoint.addr, 0xb);
        assert_eq!(
            &reply[..4],
            &[0x03, 0x00, 0x00, 0x13],
            "{} at {}",
            endpoint.scenario,
            endpoint.addr
        );
        answered += 1;
    }
    eprintln!("{answered} negotiations in {:?}", start.elapsed());
    // Certificates name the address they are served on.
    let healthy = lab
        .endpoints()
        .iter()
        .find(|e| e.scenario == Scenario::Healthy)
        .unwrap();
    let (_, stream) = common::x224(healthy.addr, 3);
    let config = common::validating_config(&[lab.ca_certificate_der()]);
    common::tls_handshake(stream, config, &healthy.addr.ip().to_string())
        .expect("valid for its own address");
}

#[test]
fn base_port_puts_scenarios_on_consecutive_ports() {
    let scenarios = [Scenario::Healthy, Scenario::NlaRequired, Scenario::Http];
    // Find three free consecutive ports; another process may take one meanwhile, so retry.
    for attempt in 0..20u16 {
        let base = 41_000 + (std::process::id() % 1000) as u16 * 20 + attempt * 3;
        let config = LabConfig {
            base_port: Some(base),
            ..LabConfig::default()
        };
        let Ok(lab) = Lab::start(&scenarios, config) else {
            continue;
        };
        let ports: Vec<u16> = lab.endpoints().iter().map(|e| e.addr.port()).collect();
        assert_eq!(ports, [base, base + 1, base + 2]);
        return;
    }
    panic!("no free port range found");
}

#[test]
fn dropping_the_lab_closes_listeners_and_connections() {
    let lab = common::lab(&[Scenario::Silent]);
    let addr = common::addr(&lab, &Scenario::Silent);
    let mut open = common::connect(addr);
    drop(lab);
    let (_, end) = common::read_to_end(&mut open);
    assert!(end.is_ok() || end.unwrap_err().kind() == std::io::ErrorKind::ConnectionReset);
    assert!(TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_err());
}

#[test]
fn a_port_in_use_is_a_bind_error() {
    let lab = common::lab(&[Scenario::Healthy]);
    let taken = common::addr(&lab, &Scenario::Healthy);
    let err = Lab::start_at([(Scenario::Healthy, taken)], LabConfig::default()).unwrap_err();
    assert!(
        matches!(err, rdpdoctor_lab::LabError::Bind { addr, .. } if addr == taken),
        "{err}"
    );
}

#[test]
fn ipv6_loopback_works_when_the_host_has_it() {
    let config = LabConfig {
        bind: IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
        ..LabConfig::default()
    };
    let lab = match Lab::start(&[Scenario::Healthy], config) {
        Ok(lab) => lab,
        Err(e) => {
            eprintln!("SKIP: no IPv6 loopback here ({e})");
            return;
        }
    };
    let addr = common::addr(&lab, &Scenario::Healthy);
    let (reply, stream) = common::x224(addr, 3);
    assert_eq!(reply.len(), 19);
    let config = common::validating_config(&[lab.ca_certificate_der()]);
    common::tls_handshake(stream, config, "::1").expect("certificate names ::1");
}

#[test]
fn a_lab_can_be_moved_and_shared_across_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Lab>();
    send_sync::<Scenario>();
}
