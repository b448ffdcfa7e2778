//! `rdpdoctor scan` on loopback without RDP servers: closed ports, silent and hanging-up
//! listeners, web servers; target expansion, exclusions, stdin, the cap, exit codes; the
//! results file after SIGKILL and Ctrl-C; `--resume`, `--from`, CSV, JSON and the HTML report
//! in headless Chromium.

mod scan_support;

use scan_support::*;
use serde_json::Value;
use std::time::{Duration, Instant};

#[test]
fn a_range_of_closed_ports_gives_one_port_closed_line_per_target() {
    let dir = scratch();
    let out = dir.path().join("r.jsonl");
    let port = closed_port();
    let run = scan(&[
        &format!("127.20.0.0/26:{port}"),
        "--out",
        &path_str(&out),
        "--progress",
        "plain",
    ]);
    assert_eq!(run.status.code(), Some(1), "{}", text(&run.stderr));
    let rs = results(&out);
    assert_eq!(rs.len(), 64);
    assert!(occurrences(&rs).values().all(|n| *n == 1));
    for r in &rs {
        assert_eq!(top_cause(r), "port-closed", "{r}");
        // The same document `check --format json` prints, with the target as given.
        assert_eq!(r["schema_version"], 1);
        assert_eq!(r["evidence"]["tcp"]["error"]["kind"], "refused");
        let input = r["target"]["input"].as_str().unwrap();
        assert_eq!(
            input,
            format!("{}:{port}", r["target"]["host"].as_str().unwrap())
        );
    }
    let stdout = text(&run.stdout);
    assert!(
        stdout.contains("64 servers: 0 healthy, 0 with problems, 64 unreachable"),
        "{stdout}"
    );
    assert!(stdout.contains("port-closed"), "{stdout}");
    let stderr = text(&run.stderr);
    assert!(stderr.contains("64 targets to check"), "{stderr}");
    assert!(
        stderr.contains("scan: 64/64 (100.0%)"),
        "plain progress line: {stderr}"
    );
}

#[test]
fn a_line_of_the_results_file_equals_what_check_prints() {
    let dir = scratch();
    let out = dir.path().join("r.jsonl");
    let target = format!("127.20.1.1:{}", closed_port());
    let run = scan(&[&target, "--out", &path_str(&out)]);
    assert_eq!(run.status.code(), Some(1));
    let line = &results(&out)[0];
    let check = std::process::Command::new(bin())
        .args(["check", &target, "--format", "json"])
        .output()
        .unwrap();
    let check: Value = serde_json::from_slice(&check.stdout).unwrap();
    // Same shape and content, apart from times.
    let strip = |v: &Value| {
        let mut v = v.clone();
        v["duration_ms"] = Value::Null;
        v["diagnosed_at"] = Value::Null;
        v["evidence"]["collected_at"] = Value::Null;
        for stage in ["tcp"] {
            let s = &mut v["evidence"][stage];
            s["elapsed_ms"] = Value::Null;
            s["error"]["elapsed_ms"] = Value::Null;
            if let Some(a) = s["attempts"].as_array_mut() {
                for at in a {
                    at["elapsed_ms"] = Value::Null;
                }
            }
        }
        v
    };
    assert_eq!(strip(line), strip(&check));
}

#[test]
fn every_source_kind_duplicates_and_exclusions() {
    let dir = scratch();
    let port = closed_port();
    let list = write(
        dir.path(),
        "fleet.txt",
        &format!(
            "# the web farm\n\n127.21.0.1:{port}\n127.21.0.0/29:{port}   # overlaps the line above\n\
             my server.rdp\n[::1]:{port}\n"
        ),
    );
    write(
        dir.path(),
        "my server.rdp",
        &format!("full address:s:127.21.1.1\r\nserver port:i:{port}\r\n"),
    );
    let excluded = write(dir.path(), "skip.txt", "127.21.0.6\n");
    let stdin = format!("127.21.2.0/30:{port}\n127.21.0.2:{port}\n");
    let out = dir.path().join("r.jsonl");
    let run = scan_with_stdin(
        &[
            &path_str(&list),
            "-",
            &format!("127.21.3.1:{port}"),
            "--exclude",
            &path_str(&excluded),
            "--exclude",
            &format!("127.21.0.7:{port}"),
            "--out",
            &path_str(&out),
        ],
        Some(&stdin),
    );
    let stderr = text(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    // 1 + 8 + 1 (.rdp) + 1 (::1) + 4 + 1 (stdin) + 1 = 17 listed; 127.21.0.1 and .2 twice;
    // .6 and .7 excluded.
    assert!(
        stderr
            .contains("13 targets to check (17 listed, 2 duplicates, 2 excluded, 0 already done)"),
        "{stderr}"
    );
    let rs = results(&out);
    let seen = occurrences(&rs);
    assert_eq!(seen.len(), 13);
    assert!(seen.values().all(|n| *n == 1));
    assert!(seen.contains_key(&format!("[::1]:{port}")));
    assert!(
        seen.contains_key(&format!("127.21.1.1:{port}")),
        "from the .rdp file"
    );
    assert!(!seen.contains_key(&format!("127.21.0.6:{port}")));
    assert!(!seen.contains_key(&format!("127.21.0.7:{port}")));
    let rdp = rs
        .iter()
        .find(|r| r["target"]["host"] == "127.21.1.1")
        .unwrap();
    assert_eq!(
        rdp["target"]["input"], "my server.rdp",
        "the target as given"
    );
}

#[test]
fn bad_input_is_refused_before_scanning_with_where_it_is() {
    let dir = scratch();
    let list = write(dir.path(), "fleet.txt", "127.0.0.1\nnot a host\n");
    let run = scan(&[&path_str(&list)]);
    assert_eq!(run.status.code(), Some(64));
    let e = text(&run.stderr);
    assert!(
        e.contains("fleet.txt:2: 'not a host': one target per line"),
        "{e}"
    );
    assert!(!e.contains("targets to check"), "nothing was scanned: {e}");

    let run = scan(&["127.0.0.1", "10.0.0.0/8", "--max-targets", "1000"]);
    assert_eq!(run.status.code(), Some(64));
    let e = text(&run.stderr);
    assert!(
        e.contains("10.0.0.0/8: 10.0.0.0/8 expands to 16777216 targets"),
        "{e}"
    );
    assert!(e.contains("--max-targets 1000"), "{e}");

    let started = Instant::now();
    let run = scan(&["2001:db8::/32"]);
    assert_eq!(run.status.code(), Some(64));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "refused without expanding"
    );

    assert_eq!(scan(&[]).status.code(), Some(64));
    let run = scan(&["no/such/list.txt"]);
    assert_eq!(run.status.code(), Some(64));
    assert!(
        text(&run.stderr).contains("no such file"),
        "{}",
        text(&run.stderr)
    );
}

#[test]
fn existing_results_are_not_overwritten_by_accident() {
    let dir = scratch();
    let out = write(dir.path(), "r.jsonl", "{}\n");
    let run = scan(&["127.0.0.1:1", "--out", &path_str(&out)]);
    assert_eq!(run.status.code(), Some(64));
    assert!(
        text(&run.stderr).contains("--resume"),
        "{}",
        text(&run.stderr)
    );
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "{}\n");
}

#[test]
fn killed_with_sigkill_halfway_then_resumed_every_target_appears_once() {
    let dir = scratch();
    let out = dir.path().join("r.jsonl");
    let port = closed_port();
    let silent = Endpoints::start(Behaviour::Silent, &[ip(22, 9, 1), ip(22, 9, 2)], 0);
    let mut args: Vec<String> = vec![
        format!("127.22.0.0/24:{port}"),
        format!("127.22.1.0/25:{port}"),
        "--out".into(),
        path_str(&out),
        "--rate".into(),
        "100".into(),
        "--timeout".into(),
        "1".into(),
        "--progress".into(),
        "off".into(),
    ];
    args.extend(silent.targets());
    let total = 256 + 128 + 2;
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();

    let mut child = spawn_scan(&argv);
    wait_for_lines(&out, 60, Duration::from_secs(30), &mut child);
    child.kill().expect("SIGKILL");
    let status = child.wait().unwrap();
    assert_eq!(status.code(), None, "killed by a signal");
    let before = results(&out).len();
    assert!(
        before >= 60 && before < total,
        "{before} lines before the kill"
    );

    // A kill can also land in the middle of a write: leave half a line behind.
    let first_line = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_string();
    {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new().append(true).open(&out).unwrap();
        f.write_all(&first_line.as_bytes()[..first_line.len() / 2])
            .unwrap();
    }

    let mut resumed = args.clone();
    resumed.push("--resume".into());
    resumed.iter_mut().for_each(|a| {
        if a == "100" {
            *a = "0".into(); // no rate limit for the rest
        }
    });
    let argv: Vec<&str> = resumed.iter().map(String::as_str).collect();
    let run = scan(&argv);
    let stderr = text(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("resuming: {before} results already in")),
        "{stderr}"
    );
    assert!(stderr.contains("dropped a partial last line"), "{stderr}");
    assert!(
        stderr.contains(&format!("{} already done", before)),
        "{stderr}"
    );

    let rs = results(&out);
    let seen = occurrences(&rs);
    assert_eq!(rs.len(), total, "every target exactly once");
    assert_eq!(seen.len(), total);
    assert!(seen.values().all(|n| *n == 1));
    // The summary covers the whole fleet, not just the resumed part.
    assert!(
        text(&run.stdout).contains(&format!("{total} servers")),
        "{}",
        text(&run.stdout)
    );
    let dropped: Vec<&Value> = rs
        .iter()
        .filter(|r| top_cause(r) == "dropped-after-accept")
        .collect();
    assert_eq!(dropped.len(), 2);
}

#[test]
fn ctrl_c_stops_quickly_keeps_what_finished_and_says_how_to_resume() {
    let dir = scratch();
    let out = dir.path().join("r.jsonl");
    let port = closed_port();
    let args = [
        format!("127.23.0.0/23:{port}"),
        "--out".into(),
        path_str(&out),
        "--rate".into(),
        "50".into(),
    ];
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut child = spawn_scan(&argv);
    wait_for_lines(&out, 20, Duration::from_secs(30), &mut child);
    let interrupted_at = Instant::now();
    let ok = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let output = child.wait_with_output().unwrap();
    assert!(
        interrupted_at.elapsed() < Duration::from_secs(3),
        "stopped in {:?}",
        interrupted_at.elapsed()
    );
    assert_eq!(output.status.code(), Some(130));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("Resume with"), "{stderr}");
    assert!(
        stderr.contains(&format!("--out {} --rate 50 --resume", path_str(&out))),
        "{stderr}"
    );
    let rs = results(&out);
    assert!(rs.len() >= 20 && rs.len() < 512);
    assert!(occurrences(&rs).values().all(|n| *n == 1));
    // The partial summary was printed.
    assert!(
        text(&output.stdout).contains(&format!("{} servers", rs.len())),
        "{}",
        text(&output.stdout)
    );

    let mut resumed: Vec<&str> = argv
        .iter()
        .map(|a| if *a == "50" { "0" } else { a })
        .collect();
    resumed.push("--resume");
    let run = scan(&resumed);
    assert_eq!(run.status.code(), Some(1), "{}", text(&run.stderr));
    let rs = results(&out);
    assert_eq!(rs.len(), 512);
    assert!(occurrences(&rs).values().all(|n| *n == 1));
}

#[test]
fn the_rate_limit_paces_new_connections() {
    let port = closed_port();
    let started = Instant::now();
    // 150 closed ports, one connection each, at 100 per second with a burst of 10.
    let run = scan(&[
        &format!("127.24.0.0/25:{port}"),
        &format!("127.24.1.0/27:{port}"),
        "--rate",
        "100",
        "--progress",
        "off",
    ]);
    let took = started.elapsed();
    assert_eq!(run.status.code(), Some(1));
    assert!(took >= Duration::from_millis(1300), "took {took:?}");
    assert!(took < Duration::from_secs(6), "took {took:?}");
}

#[test]
fn at_most_per_host_checks_run_against_one_host() {
    // Eight silent ports on one address: each check holds its connection until the deadline.
    let silent = Endpoints::ports(Behaviour::Silent, ip(25, 0, 1), 8);
    let mut args: Vec<String> = silent.targets();
    args.extend(
        [
            "--per-host",
            "2",
            "--timeout",
            "0.4",
            "--rate",
            "0",
            "--progress",
            "off",
        ]
        .map(String::from),
    );
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let started = Instant::now();
    let run = scan(&argv);
    assert_eq!(run.status.code(), Some(1), "{}", text(&run.stderr));
    // Each check holds its connection for 0.4 s: never more than two start within 0.3 s.
    assert_eq!(silent.most_accepted_within(Duration::from_millis(300)), 2);
    assert_eq!(silent.accepts.lock().unwrap().len(), 8);
    assert!(
        started.elapsed() >= Duration::from_millis(1500),
        "four rounds of 0.4 s"
    );
}

#[test]
fn csv_has_one_row_per_target_and_json_is_the_summary() {
    let dir = scratch();
    let port = closed_port();
    let hangup = Endpoints::start(Behaviour::Hangup, &[ip(26, 1, 1)], 0);
    let http = Endpoints::start(Behaviour::Http, &[ip(26, 2, 1)], 0);
    let mut args = vec![
        format!("127.26.0.0/28:{port}"),
        "--format".into(),
        "csv".into(),
        "--timeout".into(),
        "2".into(),
    ];
    args.extend(hangup.targets());
    args.extend(http.targets());
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = scan(&argv);
    assert_eq!(run.status.code(), Some(1), "{}", text(&run.stderr));
    let csv = text(&run.stdout);
    let records = parse_csv(&csv);
    assert_eq!(records[0][..4], ["target", "host", "port", "outcome"]);
    assert_eq!(records.len(), 1 + 18);
    let col = |name: &str| records[0].iter().position(|c| c == name).unwrap();
    assert!(records.iter().all(|r| r.len() == records[0].len()));
    let by_host = |h: &str| {
        records
            .iter()
            .find(|r| r[col("host")] == h)
            .unwrap()
            .clone()
    };
    let closed = by_host("127.26.0.3");
    assert_eq!(closed[col("outcome")], "unreachable");
    assert_eq!(closed[col("top_cause")], "port-closed");
    assert_eq!(closed[col("unreachable_reason")], "tcp:refused");
    assert_eq!(
        by_host("127.26.1.1")[col("top_cause")],
        "dropped-after-accept"
    );
    assert_eq!(by_host("127.26.2.1")[col("top_cause")], "not-rdp");

    let dir_out = dir.path().join("r.jsonl");
    let mut args2 = args.clone();
    args2.splice(
        1..3,
        [
            "--format".to_string(),
            "json".to_string(),
            "--out".to_string(),
            path_str(&dir_out),
        ],
    );
    let argv: Vec<&str> = args2.iter().map(String::as_str).collect();
    let run = scan(&argv);
    let summary: Value = serde_json::from_slice(&run.stdout).expect("JSON summary");
    assert_eq!(summary["kind"], "fleet_summary");
    assert_eq!(summary["targets"], 18);
    assert_eq!(summary["outcomes"]["unreachable"], 16);
    assert_eq!(summary["outcomes"]["problems"], 2);
    assert_eq!(summary["unreachable"]["tcp:refused"], 16);
    let causes: Vec<&str> = summary["causes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["cause"].as_str().unwrap())
        .collect();
    assert!(
        causes.contains(&"port-closed") && causes.contains(&"not-rdp"),
        "{causes:?}"
    );

    // --from rebuilds the same summary from the results file, without scanning.
    let run = scan(&["--from", &path_str(&dir_out), "--format", "json"]);
    assert_eq!(run.status.code(), Some(1));
    let again: Value = serde_json::from_slice(&run.stdout).unwrap();
    for k in ["targets", "outcomes", "verdicts", "unreachable", "causes"] {
        assert_eq!(again[k], summary[k], "{k}");
    }
}

#[test]
fn hostile_names_are_escaped_in_html_and_csv() {
    let dir = scratch();
    let out = dir.path().join("r.jsonl");
    let run = scan(&[
        &format!("127.27.0.1:{}", closed_port()),
        "--out",
        &path_str(&out),
    ]);
    assert_eq!(run.status.code(), Some(1));
    // A server chooses its certificate subject; a list may contain anything. Forge both.
    let mut r = results(&out)[0].clone();
    r["target"]["input"] = Value::from("<img src=x onerror=alert(1)>");
    r["evidence"]["certificate"] = serde_json::json!({
        "subject": "CN=<script>alert(2)</script>", "issuer": "CN=x", "serial": "01",
        "not_before": "2020-01-01T00:00:00Z", "not_after": "2021-01-01T00:00:00Z", "days_left": -1,
        "self_signed": true, "key_type": "RSA", "signature_algorithm": "sha256WithRSAEncryption",
        "sha1": "00", "sha256": "00"
    });
    let mut csv_bait = r.clone();
    csv_bait["target"]["input"] = Value::from("=HYPERLINK(\"http://evil\",\"x\")");
    csv_bait["target"]["host"] = Value::from("127.27.0.2");
    let forged = write(dir.path(), "forged.jsonl", &format!("{r}\n{csv_bait}\n"));
    let html = dir.path().join("fleet.html");
    let run = scan(&[
        "--from",
        &path_str(&forged),
        "--report",
        &path_str(&html),
        "--format",
        "csv",
    ]);
    assert_eq!(run.status.code(), Some(1), "{}", text(&run.stderr));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        !page.contains("<script>alert"),
        "unescaped certificate subject"
    );
    assert!(!page.contains("<img src=x"), "unescaped target");
    assert!(
        page.contains("&lt;script&gt;alert(2)&lt;&#x2f;script&gt;")
            || page.contains("&lt;script&gt;alert(2)&lt;/script&gt;")
    );
    let csv = text(&run.stdout);
    assert!(
        csv.contains("\"'=HYPERLINK(\"\"http://evil\"\",\"\"x\"\")\""),
        "{csv}"
    );
    if let Some((dom, log)) = chromium(&html, "") {
        assert_page_scripts_ok(&dom, &log);
        assert!(!dom.contains("<script>alert"));
    }
}

#[test]
fn the_html_report_is_self_contained_and_its_script_runs_in_chromium() {
    let dir = scratch();
    let port = closed_port();
    let silent = Endpoints::start(Behaviour::Silent, &[ip(28, 1, 1), ip(28, 1, 2)], 0);
    let html = dir.path().join("fleet.html");
    let mut args = vec![
        format!("127.28.0.0/27:{port}"),
        "--report".into(),
        path_str(&html),
        "--timeout".into(),
        "1".into(),
    ];
    args.extend(silent.targets());
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = scan(&argv);
    assert_eq!(run.status.code(), Some(1), "{}", text(&run.stderr));
    let page = std::fs::read_to_string(&html).unwrap();
    for fetch in [
        "src=\"http",
        "href=\"http",
        "url(",
        "@import",
        "<link",
        "fetch(",
        "XMLHttpRequest",
    ] {
        assert!(
            !page.contains(fetch),
            "the page must not fetch anything: found {fetch}"
        );
    }
    let Some((dom, log)) = chromium(&html, "#sort=target-desc") else {
        return;
    };
    assert_page_scripts_ok(&dom, &log);
    assert!(dom.contains("<svg id=\"expiry-chart\""));
    let rows = table_rows(&dom);
    assert_eq!(rows.len(), 34);
    // Sorted by the page's script, descending by address: 127.28.1.2 first, 127.28.0.0 last.
    assert_eq!(rows[0].0, silent.targets()[1]);
    assert_eq!(rows[33].0, format!("127.28.0.0:{port}"));
    assert_eq!(rows[0].2, "dropped-after-accept");
}
