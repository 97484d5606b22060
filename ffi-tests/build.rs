//! The C view of the library, generated from the committed header `include/nx_security_module.h`
//! (itself generated from the Rust sources and checked by `scripts/check-header`): the tests
//! call the exported symbols with exactly the types and numbers a C compiler sees.

use std::env;
use std::path::PathBuf;

fn main() {
    let header = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../include/nx_security_module.h"
    );
    println!("cargo:rerun-if-changed={header}");
    let bindings = bindgen::Builder::default()
        .header(header)
        .allowlist_item("(nxsm|NXSM)_.*")
        // Enums as plain numbered constants of their C typedef (`uint32_t`), as C has them.
        .default_enum_style(bindgen::EnumVariation::Consts)
        .prepend_enum_name(false)
        .derive_default(true)
        .derive_debug(true)
        .derive_partialeq(true)
        .derive_eq(true)
        .layout_tests(true)
        .generate()
        .unwrap_or_else(|error| panic!("bindgen could not read {header}: {error}"));
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    bindings
        .write_to_file(out.join("nx_security_module.rs"))
        .expect("OUT_DIR is writable");
}
