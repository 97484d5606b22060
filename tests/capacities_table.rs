//! `config/capacities.txt` is the one table of build-time capacities: build.rs and CMake
//! read it; this checks that the README's configuration table says the same and that the
//! built constants are the table's defaults when no NXSM_* variable overrides them.

use nx_security_module::testing::config::capacity;

const TABLE: &str = include_str!("../config/capacities.txt");
const README: &str = include_str!("../README.md");

/// `(name, default, original name or "-")` of each row of the table.
fn rows() -> Vec<(&'static str, u32, &'static str)> {
    TABLE
        .lines()
        .filter(|line| line.starts_with("NXSM_"))
        .map(|line| {
            let fields: Vec<&str> = line.split('|').next().unwrap().split_whitespace().collect();
            (fields[0], fields[1].parse().unwrap(), fields[5])
        })
        .collect()
}

#[test]
fn the_readme_lists_every_capacity_with_its_default() {
    let rows = rows();
    assert_eq!(rows.len(), 11, "{rows:?}");
    for (name, default, original) in rows {
        let line = README
            .lines()
            .find(|line| line.starts_with(&format!("| `{name}` |")))
            .unwrap_or_else(|| panic!("README's configuration table has no row for {name}"));
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        assert_eq!(cells[2], default.to_string(), "README default of {name}");
        if original != "-" {
            assert!(
                cells[3].contains(original),
                "README row of {name} names {original}"
            );
        }
    }
}

#[test]
fn the_built_capacities_are_the_table_defaults_unless_overridden() {
    let built = [
        ("NXSM_MAX_FLOWS_V4", capacity::MAX_FLOWS_V4),
        ("NXSM_MAX_FLOWS_V6", capacity::MAX_FLOWS_V6),
        ("NXSM_RING_SLOTS", capacity::RING_SLOTS),
        ("NXSM_OUTBOX_BYTES", capacity::OUTBOX_BYTES),
        ("NXSM_MAX_MESSAGE_BYTES", capacity::MAX_MESSAGE_BYTES),
        ("NXSM_POLICY_BYTES", capacity::POLICY_BYTES),
        (
            "NXSM_MAX_ALERTS_PER_WINDOW",
            capacity::MAX_ALERTS_PER_WINDOW,
        ),
        ("NXSM_BASELINE_ENTRIES", capacity::BASELINE_ENTRIES),
        ("NXSM_INVENTORY_SOCKETS", capacity::INVENTORY_SOCKETS),
        ("NXSM_AUDIT_RECORDS", capacity::AUDIT_RECORDS),
        ("NXSM_FRAGMENT_ENTRIES", capacity::FRAGMENT_ENTRIES),
    ];
    for (name, default, _) in rows() {
        let (_, value) = built
            .iter()
            .find(|(built_name, _)| *built_name == name)
            .unwrap_or_else(|| panic!("{name} is in the table but not in config::capacity"));
        // The test runs with the environment cargo built it with (scripts/test sets some).
        match std::env::var(name) {
            Ok(given) if !given.trim().is_empty() => {
                assert_eq!(*value, given.trim().parse::<usize>().unwrap(), "{name}")
            }
            _ => assert_eq!(*value, default as usize, "{name}"),
        }
    }
}
