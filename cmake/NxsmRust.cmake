# Builds the Rust core with cargo and exposes it as the imported target `nxsm_core`.
#
# Host builds use the cargo on PATH (rustup). Cortex-M builds use, by preference, a Rust
# toolchain that has the target installed (`rustup target add thumbv7em-none-eabihf`: a
# plain stable `cargo build --target`); without one, Debian's rustc/cargo pair
# (rustc-web, cargo-web, rust-web-src) builds `core` from source with -Zbuild-std.
# NXSM_RUST_BUILD chooses explicitly; configuration says which one is used. So do host
# builds under ThreadSanitizer (NXSM_TSAN), which need an instrumented `core`.
#
# A Cortex-M archive is linked without its compiler_builtins objects
# (NxsmUseFirmwareLibc.cmake): memcpy, memset, division helpers and the like come from the
# firmware's own C library and libgcc, never from the library.

include(${CMAKE_CURRENT_LIST_DIR}/NxsmCpu.cmake)   # NXSM_CPU and nxsm_cpu_target()
set(NXSM_CROSS_CARGO "/usr/bin/cargo" CACHE FILEPATH "cargo used for Cortex-M builds (Debian cargo-web)")
set(NXSM_CROSS_RUSTC "/usr/bin/rustc" CACHE FILEPATH "rustc used for Cortex-M builds (Debian rustc-web)")
set(NXSM_RUST_BUILD auto CACHE STRING
    "Cortex-M Rust build: installed-target (a toolchain with the target installed), build-std (Debian's pair), or auto")
set_property(CACHE NXSM_RUST_BUILD PROPERTY STRINGS auto installed-target build-std)
set(NXSM_TSAN OFF CACHE BOOL "Host test build under ThreadSanitizer: the Rust core instrumented too (-Zsanitizer=thread)")
option(NXSM_DETECTION "Detection: policies, alerts, blocking, learn mode (OFF: compiled out, the C functions return NXSM_ERR_NOT_BUILT)" ON)
if(NXSM_DETECTION)
  set(_nxsm_features)
else()
  set(_nxsm_features --no-default-features)
endif()

set(_nxsm_root ${CMAKE_CURRENT_LIST_DIR}/..)
# Builds of several firmwares may share one cargo target directory (the same Rust core for
# the same core and capacities is then built once).
set(NXSM_CARGO_TARGET_DIR ${CMAKE_BINARY_DIR}/cargo CACHE PATH "cargo --target-dir of the Rust core")
set(_nxsm_target_dir ${NXSM_CARGO_TARGET_DIR})
set(_nxsm_env)
foreach(_nxsm_capacity IN LISTS NXSM_CAPACITY_NAMES)   # NxsmCapacities.cmake
  list(APPEND _nxsm_env ${_nxsm_capacity}=${${_nxsm_capacity}})
endforeach()

if(CMAKE_CROSSCOMPILING)
  nxsm_cpu_target(${NXSM_CPU} NXSM_RUST_TARGET NXSM_CPU_FLAGS)
  set(NXSM_RUST_TARGET ${NXSM_RUST_TARGET} CACHE INTERNAL "")
  set(NXSM_CPU_FLAGS ${NXSM_CPU_FLAGS} CACHE INTERNAL "")
  # The C code must target the same core and float ABI as the Rust archive; a mismatch may
  # link and then fault. Checked against CMAKE_C_FLAGS when they name a core or float ABI
  # (gcc uses the last occurrence).
  foreach(_nxsm_option -mcpu= -mfloat-abi=)
    string(REGEX MATCHALL "(^| )${_nxsm_option}[^ ]+" _nxsm_given "${CMAKE_C_FLAGS}")
    set(_nxsm_wanted ${NXSM_CPU_FLAGS})
    list(FILTER _nxsm_wanted INCLUDE REGEX "^${_nxsm_option}")
    if(_nxsm_given AND _nxsm_wanted)
      list(GET _nxsm_given -1 _nxsm_given)
      string(STRIP "${_nxsm_given}" _nxsm_given)
      if(NOT _nxsm_given STREQUAL _nxsm_wanted)
        message(FATAL_ERROR "NXSM_CPU=${NXSM_CPU} builds the Rust core for ${NXSM_RUST_TARGET} "
          "(${_nxsm_wanted}), but CMAKE_C_FLAGS has ${_nxsm_given}. Set NXSM_CPU to the core "
          "the firmware is compiled for (with cmake/arm-none-eabi.cmake: -DNXSM_CPU=... on the "
          "cmake command line, which the toolchain file reads).")
      endif()
    endif()
  endforeach()
  set(_nxsm_built ${_nxsm_target_dir}/${NXSM_RUST_TARGET}/release/libnx_security_module.a)
  set(_nxsm_archive ${CMAKE_BINARY_DIR}/nxsm/libnx_security_module.a)
  # A toolchain with the target installed: the target's library directory holds `core`.
  find_program(NXSM_CARGO cargo HINTS $ENV{HOME}/.cargo/bin)
  find_program(NXSM_RUSTC rustc HINTS $ENV{HOME}/.cargo/bin)
  set(_nxsm_installed OFF)
  if(NXSM_CARGO AND NXSM_RUSTC)
    execute_process(COMMAND ${NXSM_RUSTC} --print target-libdir --target ${NXSM_RUST_TARGET}
                    OUTPUT_VARIABLE _nxsm_libdir OUTPUT_STRIP_TRAILING_WHITESPACE
                    RESULT_VARIABLE _nxsm_status ERROR_QUIET)
    file(GLOB _nxsm_core_rlib "${_nxsm_libdir}/libcore-*.rlib")
    if(_nxsm_status EQUAL 0 AND _nxsm_core_rlib)
      set(_nxsm_installed ON)
    endif()
  endif()
  if(NXSM_RUST_BUILD STREQUAL "installed-target" OR
     (NXSM_RUST_BUILD STREQUAL "auto" AND _nxsm_installed))
    if(NOT _nxsm_installed)
      message(FATAL_ERROR "NXSM_RUST_BUILD=installed-target, but ${NXSM_RUSTC} has no "
        "${NXSM_RUST_TARGET} library (rustup target add ${NXSM_RUST_TARGET})")
    endif()
    set(_nxsm_how "${NXSM_CARGO} with the installed ${NXSM_RUST_TARGET} target")
    set(_nxsm_cargo ${CMAKE_COMMAND} -E env ${_nxsm_env} RUSTC=${NXSM_RUSTC} RUSTFLAGS=
        ${NXSM_CARGO} build --release --locked -p nx-security-module ${_nxsm_features}
        --target ${NXSM_RUST_TARGET})
  elseif(NXSM_RUST_BUILD STREQUAL "build-std" OR NXSM_RUST_BUILD STREQUAL "auto")
    if(NOT EXISTS ${NXSM_CROSS_CARGO} OR NOT EXISTS ${NXSM_CROSS_RUSTC})
      message(FATAL_ERROR "No Rust toolchain for ${NXSM_RUST_TARGET}: run "
        "`rustup target add ${NXSM_RUST_TARGET}`, or install Debian's rustc-web, cargo-web "
        "and rust-web-src (scripts/setup)")
    endif()
    set(_nxsm_how "${NXSM_CROSS_CARGO} building core from source (-Zbuild-std)")
    set(_nxsm_cargo ${CMAKE_COMMAND} -E env ${_nxsm_env}
        RUSTC=${NXSM_CROSS_RUSTC} RUSTC_BOOTSTRAP=1 RUSTFLAGS=
        ${NXSM_CROSS_CARGO} build --release --locked -p nx-security-module ${_nxsm_features}
        --target ${NXSM_RUST_TARGET} -Zbuild-std=core,compiler_builtins)
  else()
    message(FATAL_ERROR "NXSM_RUST_BUILD=${NXSM_RUST_BUILD}: use auto, installed-target or build-std")
  endif()
  message(STATUS "nx-security-module: Rust core for ${NXSM_RUST_TARGET} with ${_nxsm_how}")
  set(_nxsm_finish COMMAND ${CMAKE_COMMAND} -DAR=${CMAKE_AR} -DIN=${_nxsm_built}
      -DOUT=${_nxsm_archive} -P ${CMAKE_CURRENT_LIST_DIR}/NxsmUseFirmwareLibc.cmake)
elseif(NXSM_TSAN)
  # ThreadSanitizer must see the library's own accesses: the core and everything it uses
  # (core itself, hence -Zbuild-std) instrumented, with the Debian pair as for Cortex-M.
  execute_process(COMMAND ${NXSM_CROSS_RUSTC} -vV OUTPUT_VARIABLE _nxsm_rustc_info
                  RESULT_VARIABLE _nxsm_rustc_status)
  string(REGEX MATCH "host: ([^\n]+)" _nxsm_host_line "${_nxsm_rustc_info}")
  if(NOT _nxsm_rustc_status EQUAL 0 OR NOT CMAKE_MATCH_1)
    message(FATAL_ERROR "NXSM_TSAN needs ${NXSM_CROSS_RUSTC} (Debian rustc-web, see scripts/setup)")
  endif()
  set(_nxsm_host_target ${CMAKE_MATCH_1})
  set(_nxsm_archive ${_nxsm_target_dir}/${_nxsm_host_target}/release/libnx_security_module.a)
  # Line tables and the legacy mangling, which the GCC runtime's symbolizer can read.
  set(_nxsm_cargo ${CMAKE_COMMAND} -E env ${_nxsm_env}
      RUSTC=${NXSM_CROSS_RUSTC} RUSTC_BOOTSTRAP=1 CARGO_PROFILE_RELEASE_DEBUG=line-tables-only
      "RUSTFLAGS=-Zsanitizer=thread -Cforce-frame-pointers=yes -Zunstable-options -Csymbol-mangling-version=legacy"
      ${NXSM_CROSS_CARGO} build --release --locked -p nx-security-module ${_nxsm_features}
      --target ${_nxsm_host_target} -Zbuild-std=core,compiler_builtins)
else()
  find_program(NXSM_CARGO cargo HINTS $ENV{HOME}/.cargo/bin REQUIRED)
  set(_nxsm_archive ${_nxsm_target_dir}/release/libnx_security_module.a)
  set(_nxsm_cargo ${CMAKE_COMMAND} -E env ${_nxsm_env}
      ${NXSM_CARGO} build --release --locked -p nx-security-module ${_nxsm_features})
endif()

file(GLOB_RECURSE _nxsm_sources CONFIGURE_DEPENDS ${_nxsm_root}/src/*.rs)
add_custom_command(
  OUTPUT ${_nxsm_archive}
  COMMAND ${_nxsm_cargo} --manifest-path ${_nxsm_root}/Cargo.toml --target-dir ${_nxsm_target_dir}
  ${_nxsm_finish}
  DEPENDS ${_nxsm_sources} ${_nxsm_root}/Cargo.toml ${_nxsm_root}/Cargo.lock ${_nxsm_root}/build.rs ${_nxsm_root}/config/capacities.txt
          ${CMAKE_CURRENT_LIST_DIR}/NxsmUseFirmwareLibc.cmake
  WORKING_DIRECTORY ${_nxsm_root}
  COMMENT "cargo: nx-security-module"
  VERBATIM USES_TERMINAL)
add_custom_target(nxsm_core_cargo DEPENDS ${_nxsm_archive})

add_library(nxsm_core STATIC IMPORTED GLOBAL)
add_dependencies(nxsm_core nxsm_core_cargo)
set_target_properties(nxsm_core PROPERTIES
  IMPORTED_LOCATION ${_nxsm_archive}
  INTERFACE_INCLUDE_DIRECTORIES ${_nxsm_root}/include
  # The archive's panic handler names a symbol nobody defines; unused sections must be
  # dropped so that the link proves no panic is reachable (src/ffi/panic.rs).
  INTERFACE_LINK_OPTIONS "-Wl,--gc-sections")
add_library(nxsm::core ALIAS nxsm_core)
set(NXSM_CORE_ARCHIVE ${_nxsm_archive} CACHE INTERNAL "path of the Rust archive")
