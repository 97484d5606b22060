//! Every native entry point, called through its C signature: success paths, NULL pointers,
//! out-of-range values and wrong struct sizes each give their documented code.

use nxsm_ffi_tests::*;
use std::mem::size_of;
use std::ptr::{null, null_mut};

const T0: u32 = 1_700_000_000;

fn start(now: u32) -> u32 {
    let config = default_config();
    // SAFETY: `config` is live for the call.
    unsafe { nxsm_start(&config, now, 7) }
}

fn state() -> u32 {
    let mut state = 99;
    // SAFETY: `state` is live and writable.
    assert_eq!(unsafe { nxsm_get_state(&mut state) }, NXSM_OK);
    state
}

/// The committed C header, which cbindgen generates from the Rust sources.
const HEADER: &str = include_str!("../../include/nx_security_module.h");

/// `(name, value)` of every `#define NAME <integer>` in the header.
fn header_define(name: &str) -> u32 {
    HEADER
        .lines()
        .find_map(|line| {
            let rest = line.strip_prefix("#define ")?.strip_prefix(name)?;
            rest.strip_prefix(' ')?.trim().parse().ok()
        })
        .unwrap_or_else(|| panic!("no #define {name} in the header"))
}

/// `(name, code)` of every enumerator of `enum nxsm_result` in the header.
fn header_results() -> Vec<(String, u32)> {
    let body = HEADER
        .split("enum nxsm_result\n")
        .nth(1)
        .and_then(|rest| rest.split("};").next())
        .expect("enum nxsm_result in the header");
    body.lines()
        .filter_map(|line| {
            let (name, value) = line.trim().trim_end_matches(',').split_once(" = ")?;
            Some((name.to_string(), value.parse().ok()?))
        })
        .collect()
}

#[test]
fn version_matches_the_package_and_the_header() {
    let _serial = serial();
    let version = unsafe { nxsm_version() };
    let text = unsafe { text(nxsm_version_string()) };
    let parts: Vec<u32> = text.split('.').map(|p| p.parse().unwrap()).collect();
    assert_eq!(parts.len(), 3, "{text}");
    assert_eq!(version, parts[0] << 24 | parts[1] << 16 | parts[2]);
    let header = [
        header_define("NXSM_VERSION_MAJOR"),
        header_define("NXSM_VERSION_MINOR"),
        header_define("NXSM_VERSION_PATCH"),
    ];
    assert_eq!(header.to_vec(), parts);
}

#[test]
fn every_result_code_in_the_header_has_its_own_text() {
    let results = header_results();
    assert!(results.len() >= 13, "{results:?}");
    for (code, (name, value)) in results.iter().enumerate() {
        assert_eq!(
            *value as usize, code,
            "{name}: codes are numbered from 0 without gaps"
        );
    }
    let texts: Vec<String> = results
        .iter()
        .map(|(_, code)| unsafe { text(nxsm_result_text(*code)) })
        .collect();
    for (i, a) in texts.iter().enumerate() {
        assert!(!a.is_empty() && a != "unknown result", "{}", results[i].0);
        assert!(
            texts.iter().skip(i + 1).all(|b| b != a),
            "duplicate text {a}"
        );
    }
    assert_eq!(
        unsafe { text(nxsm_result_text(results.len() as u32)) },
        "unknown result"
    );
    assert_eq!(
        unsafe { text(nxsm_result_text(u32::MAX)) },
        "unknown result"
    );
}

#[test]
fn config_default_is_the_original_modules() {
    let config = default_config();
    assert_eq!(
        config,
        Config {
            struct_size: size_of::<Config>() as u32,
            high_interval_s: 10,
            medium_interval_s: 30,
            low_interval_s: 60,
            first_collection_base_s: 30,
            retry_interval_s: 3,
            pending_timeout_s: 300,
            capture_mode: 0,
            protocols: 7,
            // The original's three collectors, and the inventory.
            collectors: 15,
        }
    );
    assert_eq!(unsafe { nxsm_config_validate(&config) }, NXSM_OK);
    assert_eq!(
        unsafe { nxsm_config_default(null_mut()) },
        NXSM_ERR_NULL_ARGUMENT
    );
    assert_eq!(
        unsafe { nxsm_config_validate(null()) },
        NXSM_ERR_NULL_ARGUMENT
    );
}

#[test]
fn config_validate_refuses_each_bad_field() {
    let good = default_config();
    type Breaker = (&'static str, fn(&mut Config));
    let bad: [Breaker; 15] = [
        ("high 0", |c| c.high_interval_s = 0),
        ("medium 86401", |c| c.medium_interval_s = 86_401),
        ("low 0", |c| c.low_interval_s = 0),
        ("first 0", |c| c.first_collection_base_s = 0),
        ("first 3601", |c| c.first_collection_base_s = 3_601),
        ("retry 0", |c| c.retry_interval_s = 0),
        ("retry 3601", |c| c.retry_interval_s = 3_601),
        ("pending 0", |c| c.pending_timeout_s = 0),
        ("pending 86401", |c| c.pending_timeout_s = 86_401),
        ("capture 2", |c| c.capture_mode = 2),
        ("protocols 0", |c| c.protocols = 0),
        ("protocols 8", |c| c.protocols = 8),
        ("protocols all bits", |c| c.protocols = u32::MAX),
        ("collectors 16", |c| c.collectors = 16),
        ("collectors all bits", |c| c.collectors = u32::MAX),
    ];
    for (what, break_it) in bad {
        let mut config = good;
        break_it(&mut config);
        assert_eq!(
            unsafe { nxsm_config_validate(&config) },
            NXSM_ERR_INVALID_ARGUMENT,
            "{what}"
        );
    }
    for size in [
        0,
        size_of::<Config>() as u32 - 4,
        size_of::<Config>() as u32 + 4,
    ] {
        let config = Config {
            struct_size: size,
            ..good
        };
        assert_eq!(
            unsafe { nxsm_config_validate(&config) },
            NXSM_ERR_ABI_MISMATCH
        );
    }
}

#[test]
fn capacities_report_the_build() {
    let mut caps = Capacities {
        struct_size: size_of::<Capacities>() as u32,
        ..Capacities::default()
    };
    assert_eq!(unsafe { nxsm_get_capacities(&mut caps) }, NXSM_OK);
    assert!(caps.max_flows_v4 >= 1 && caps.ring_slots.is_power_of_two());
    assert!(caps.max_message_bytes >= 256 && caps.max_message_bytes + 6 <= caps.outbox_bytes);
    caps.struct_size = 8;
    assert_eq!(
        unsafe { nxsm_get_capacities(&mut caps) },
        NXSM_ERR_ABI_MISMATCH
    );
    assert_eq!(
        unsafe { nxsm_get_capacities(null_mut()) },
        NXSM_ERR_NULL_ARGUMENT
    );
}

#[test]
fn start_checks_its_arguments_and_leaves_nothing_on_failure() {
    let _serial = serial();
    let before = stats();
    let mut bad = default_config();
    bad.high_interval_s = 0;
    assert_eq!(unsafe { nxsm_start(null(), T0, 0) }, NXSM_ERR_NULL_ARGUMENT);
    assert_eq!(
        unsafe { nxsm_start(&bad, T0, 0) },
        NXSM_ERR_INVALID_ARGUMENT
    );
    assert_eq!(start(NXSM_TIME_UNAVAILABLE), NXSM_ERR_CLOCK_UNAVAILABLE);
    assert_eq!(state(), NXSM_STATE_NOT_INITIALIZED);
    assert_eq!(stats().starts, before.starts);

    assert_eq!(start(T0), NXSM_OK);
    assert_eq!(start(T0), NXSM_ERR_ALREADY_STARTED);
    assert_eq!(state(), NXSM_STATE_PENDING);
    assert_eq!(stats().starts, before.starts + 1);
    assert_eq!(unsafe { nxsm_stop() }, NXSM_OK);
    assert_eq!(unsafe { nxsm_stop() }, NXSM_ERR_NOT_STARTED);
}

#[test]
fn poll_drives_the_state_machine() {
    let _serial = serial();
    assert_eq!(unsafe { nxsm_poll(T0, true) }, NXSM_ERR_NOT_STARTED);
    assert_eq!(start(T0), NXSM_OK);
    assert_eq!(
        unsafe { nxsm_poll(NXSM_TIME_UNAVAILABLE, true) },
        NXSM_ERR_CLOCK_UNAVAILABLE
    );
    assert_eq!(state(), NXSM_STATE_PENDING);
    assert_eq!(unsafe { nxsm_poll(T0 + 1, true) }, NXSM_OK);
    assert_eq!(state(), NXSM_STATE_ACTIVE);
    assert_eq!(unsafe { nxsm_poll(T0 + 2, false) }, NXSM_OK);
    assert_eq!(state(), NXSM_STATE_PENDING);
    assert_eq!(unsafe { nxsm_poll(T0 + 302, false) }, NXSM_OK);
    assert_eq!(state(), NXSM_STATE_PENDING);
    assert_eq!(unsafe { nxsm_poll(T0 + 303, false) }, NXSM_OK);
    assert_eq!(state(), NXSM_STATE_SUSPENDED);
    let s = stats();
    assert_eq!((s.state, s.state_since_s), (NXSM_STATE_SUSPENDED, T0 + 303));
    assert_eq!(s.first_collection_s, T0 + 30 + 7);
    assert_eq!(unsafe { nxsm_stop() }, NXSM_OK);
}

#[test]
fn state_and_stats_check_their_pointers() {
    let _serial = serial();
    assert_eq!(
        unsafe { nxsm_get_state(null_mut()) },
        NXSM_ERR_NULL_ARGUMENT
    );
    assert_eq!(
        unsafe { nxsm_get_stats(null_mut()) },
        NXSM_ERR_NULL_ARGUMENT
    );
    let mut wrong = Stats {
        struct_size: 4,
        ..Stats::default()
    };
    assert_eq!(unsafe { nxsm_get_stats(&mut wrong) }, NXSM_ERR_ABI_MISMATCH);
    assert_eq!(
        wrong,
        Stats {
            struct_size: 4,
            ..Stats::default()
        },
        "untouched on error"
    );
}

#[test]
fn intervals_are_checked_and_need_a_running_module() {
    let _serial = serial();
    let mut seconds = 0;
    assert_eq!(unsafe { nxsm_set_interval(0, 5) }, NXSM_ERR_NOT_STARTED);
    assert_eq!(unsafe { nxsm_get_interval(0, &mut seconds) }, NXSM_OK);
    assert_eq!(start(T0), NXSM_OK);
    assert_eq!(
        unsafe { nxsm_set_interval(3, 5) },
        NXSM_ERR_INVALID_ARGUMENT
    );
    assert_eq!(
        unsafe { nxsm_set_interval(0, 0) },
        NXSM_ERR_INVALID_ARGUMENT
    );
    assert_eq!(
        unsafe { nxsm_set_interval(0, 86_401) },
        NXSM_ERR_INVALID_ARGUMENT
    );
    assert_eq!(unsafe { nxsm_set_interval(2, 86_400) }, NXSM_OK);
    assert_eq!(unsafe { nxsm_get_interval(2, &mut seconds) }, NXSM_OK);
    assert_eq!(seconds, 86_400);
    assert_eq!(unsafe { nxsm_get_interval(0, &mut seconds) }, NXSM_OK);
    assert_eq!(seconds, 10);
    assert_eq!(
        unsafe { nxsm_get_interval(3, &mut seconds) },
        NXSM_ERR_INVALID_ARGUMENT
    );
    assert_eq!(
        unsafe { nxsm_get_interval(1, null_mut()) },
        NXSM_ERR_NULL_ARGUMENT
    );
    assert_eq!(unsafe { nxsm_stop() }, NXSM_OK);
}

#[test]
fn many_start_stop_cycles_balance() {
    let _serial = serial();
    let before = stats();
    for i in 0..1_000 {
        assert_eq!(start(T0 + i), NXSM_OK);
        assert_eq!(unsafe { nxsm_poll(T0 + i, i % 2 == 0) }, NXSM_OK);
        assert_eq!(unsafe { nxsm_stop() }, NXSM_OK);
    }
    let after = stats();
    assert_eq!(after.starts - before.starts, 1_000);
    assert_eq!(after.stops - before.stops, 1_000);
    assert_eq!(after.state, NXSM_STATE_NOT_INITIALIZED);
}

#[test]
fn concurrent_callers_get_busy_never_a_torn_state() {
    let _serial = serial();
    assert_eq!(start(T0), NXSM_OK);
    let threads: Vec<_> = (0..4)
        .map(|t| {
            std::thread::spawn(move || {
                let (mut ok, mut busy) = (0u32, 0u32);
                for i in 0..20_000u32 {
                    let code = if t == 0 {
                        unsafe { nxsm_poll(T0 + i / 100, i % 3 != 0) }
                    } else {
                        let mut state = 0;
                        let code = unsafe { nxsm_get_state(&mut state) };
                        if code == NXSM_OK {
                            assert!(state <= NXSM_STATE_SUSPENDED);
                        }
                        code
                    };
                    match code {
                        NXSM_OK => ok += 1,
                        NXSM_ERR_BUSY => busy += 1,
                        other => panic!("unexpected code {other}"),
                    }
                }
                (t, ok, busy)
            })
        })
        .collect();
    let mut polls_ok = 0;
    for thread in threads {
        let (t, ok, busy) = thread.join().unwrap();
        assert_eq!(ok + busy, 20_000);
        if t == 0 {
            polls_ok = ok;
        }
    }
    let before_stop = stats();
    assert!(before_stop.polls >= polls_ok);
    assert_eq!(unsafe { nxsm_stop() }, NXSM_OK);
}
