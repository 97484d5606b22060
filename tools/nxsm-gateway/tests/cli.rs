//! The command line: what is refused (exit 2) and what fails at run time (exit 1), with no
//! broker needed.

use std::net::TcpListener;
use std::process::{Command, Output};

fn gateway(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nxsm-gateway"))
        .args(args)
        .output()
        .unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn help() {
    let out = gateway(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("--ipfix HOST:PORT"));
}

#[test]
fn bad_command_lines_exit_2() {
    for args in [
        &["--json", "-"][..],
        &["--mqtt", "http://127.0.0.1:1"],
        &["--mqtt", "mqtt://127.0.0.1:0"],
        &["--mqtt", "mqtt://h:1", "--share", "a/b"],
        &["--mqtt", "mqtt://h:1", "--share", "#"],
        &["--mqtt", "mqtt://h:1", "--exit-idle", "-1"],
        &["--mqtt", "mqtt://h:1", "--exit-idle", "NaN"],
        &["--mqtt", "mqtt://h:1", "--observation-domain", "4294967296"],
        &["--mqtt", "mqtt://h:1", "--ipfix", "not an address"],
        &["--mqtt", "mqtt://h:1", "--ca", "x.pem"],
        &["--mqtt", "mqtts://h:1", "--cert", "c.pem"],
        &["--mqtt", "mqtt://h:1", "--password-file", "p"],
        &["--mqtt", "mqtt://h:1", "--frobnicate"],
        &["--mqtt"],
        &["publish", "--mqtt", "mqtt://h:1"],
        &["publish", "--mqtt", "mqtt://h:1", "--device-id", "a/b"],
        &["publish", "--mqtt", "mqtt://h:1", "--device-id", ""],
        &[
            "publish",
            "--mqtt",
            "mqtt://h:1",
            "--device-id",
            "d",
            "--share",
            "g",
        ],
        &[
            "publish",
            "--mqtt",
            "mqtt://h:1",
            "--device-id",
            "d",
            "f1",
            "f2",
        ],
    ] {
        let out = gateway(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).starts_with("nxsm-gateway: "), "{args:?}");
    }
}

#[test]
fn run_time_errors_exit_1() {
    let dir = std::env::temp_dir().join(format!("nxsm-gateway-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad_feed = dir.join("bad.netset");
    std::fs::write(&bad_feed, "192.0.2.0/24\nnot an address\n").unwrap();
    let bad_hex = dir.join("bad.hex");
    std::fs::write(&bad_hex, "02 04 zz\n").unwrap();
    // A port nothing listens on: connections are refused at once.
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("mqtt://127.0.0.1:{closed}");

    let out = gateway(&["--mqtt", &url, "--feed", bad_feed.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("line 2"), "{}", stderr(&out));
    let out = gateway(&["--mqtt", &url, "--feed", "/nonexistent/feed"]);
    assert_eq!(out.status.code(), Some(1));
    let out = gateway(&[
        "publish",
        "--mqtt",
        &url,
        "--device-id",
        "d",
        bad_hex.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("line 1"), "{}", stderr(&out));
    // Never reaching the broker: counted, then an error at the idle exit.
    let out = gateway(&["--mqtt", &url, "--exit-idle", "1.5", "--stats", "0"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stderr(&out);
    assert!(text.contains("never subscribed"), "{text}");
    assert!(text.contains("messages=0"), "{text}");
    std::fs::remove_dir_all(&dir).unwrap();
}
