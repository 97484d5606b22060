//! The policy blobs committed for the C tests (`c-harness/data/policy`) are what their JSON
//! sources compile to now: a change to the compiler or the format that would make them stale
//! fails here.

use std::fs;
use std::path::Path;

use nx_security_module::testing::policy::check;

const FOLDER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../c-harness/data/policy");

#[test]
fn committed_blobs_match_their_json() {
    let mut sources: Vec<_> = fs::read_dir(FOLDER)
        .expect("c-harness/data/policy exists")
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .collect();
    sources.sort();
    assert!(
        sources.len() >= 2,
        "the C tests use two policies: {sources:?}"
    );
    for json in &sources {
        let blob_path = json.with_extension("bin");
        let committed =
            fs::read(&blob_path).unwrap_or_else(|error| panic!("{}: {error}", blob_path.display()));
        let compiled = nxsm_policy::compile(json)
            .unwrap_or_else(|error| panic!("{error}"))
            .blob;
        assert!(
            committed == compiled,
            "{} is stale: run `cargo run -p nxsm-policy -- {} -o {}` and commit it",
            blob_path.display(),
            json.display(),
            blob_path.display()
        );
        check(&committed[..], committed.len()).expect("a committed blob passes the core's check");
    }
    // The two blobs the threads test swaps differ in name and in every count it compares.
    let a = fs::read(Path::new(FOLDER).join("a.bin")).unwrap();
    let b = fs::read(Path::new(FOLDER).join("b.bin")).unwrap();
    assert_ne!(a[16..20], b[16..20], "different CRC-32s");
}
