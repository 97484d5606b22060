# Builds the Rust core with cargo and exposes it as the imported target `nxsm_core`.
#
# Host builds use the cargo on PATH (rustup). Cross builds for Cortex-M use Debian's
# rustc/cargo pair with -Zbuild-std, because rustup cannot add targets on this machine kind
# and Debian ships the matching library sources (see docs/building.md).

set(NXSM_CPU "cortex-m4f" CACHE STRING
    "Cortex-M core for cross builds: cortex-m0plus, cortex-m3, cortex-m4, cortex-m4f, cortex-m7, cortex-m7f, cortex-m33, cortex-m33f")
set(NXSM_CROSS_CARGO "/usr/bin/cargo" CACHE FILEPATH "cargo used for Cortex-M builds (Debian cargo-web)")
set(NXSM_CROSS_RUSTC "/usr/bin/rustc" CACHE FILEPATH "rustc used for Cortex-M builds (Debian rustc-web)")

# Cortex-M core -> Rust target triple and the gcc flags its objects must be built with.
function(nxsm_cpu_target cpu out_triple out_flags)
  if(cpu STREQUAL "cortex-m0plus")
    set(triple thumbv6m-none-eabi)
    set(flags -mcpu=cortex-m0plus -mthumb -mfloat-abi=soft)
  elseif(cpu STREQUAL "cortex-m3")
    set(triple thumbv7m-none-eabi)
    set(flags -mcpu=cortex-m3 -mthumb -mfloat-abi=soft)
  elseif(cpu STREQUAL "cortex-m4")
    set(triple thumbv7em-none-eabi)
    set(flags -mcpu=cortex-m4 -mthumb -mfloat-abi=soft)
  elseif(cpu STREQUAL "cortex-m4f")
    set(triple thumbv7em-none-eabihf)
    set(flags -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16)
  elseif(cpu STREQUAL "cortex-m7")
    set(triple thumbv7em-none-eabi)
    set(flags -mcpu=cortex-m7 -mthumb -mfloat-abi=soft)
  elseif(cpu STREQUAL "cortex-m7f")
    set(triple thumbv7em-none-eabihf)
    set(flags -mcpu=cortex-m7 -mthumb -mfloat-abi=hard -mfpu=fpv5-d16)
  elseif(cpu STREQUAL "cortex-m33")
    set(triple thumbv8m.main-none-eabi)
    set(flags -mcpu=cortex-m33 -mthumb -mfloat-abi=soft)
  elseif(cpu STREQUAL "cortex-m33f")
    set(triple thumbv8m.main-none-eabihf)
    set(flags -mcpu=cortex-m33 -mthumb -mfloat-abi=hard -mfpu=fpv5-sp-d16)
  else()
    message(FATAL_ERROR "NXSM_CPU=${cpu} is not one of the supported Cortex-M cores")
  endif()
  set(${out_triple} ${triple} PARENT_SCOPE)
  set(${out_flags} ${flags} PARENT_SCOPE)
endfunction()

set(_nxsm_root ${CMAKE_CURRENT_LIST_DIR}/..)
set(_nxsm_target_dir ${CMAKE_BINARY_DIR}/cargo)
set(_nxsm_env
    NXSM_MAX_FLOWS_V4=${NXSM_MAX_FLOWS_V4}
    NXSM_MAX_FLOWS_V6=${NXSM_MAX_FLOWS_V6}
    NXSM_RING_SLOTS=${NXSM_RING_SLOTS})

if(CMAKE_CROSSCOMPILING)
  nxsm_cpu_target(${NXSM_CPU} NXSM_RUST_TARGET NXSM_CPU_FLAGS)
  set(NXSM_RUST_TARGET ${NXSM_RUST_TARGET} CACHE INTERNAL "")
  set(NXSM_CPU_FLAGS ${NXSM_CPU_FLAGS} CACHE INTERNAL "")
  set(_nxsm_archive ${_nxsm_target_dir}/${NXSM_RUST_TARGET}/release/libnx_security_module.a)
  set(_nxsm_cargo ${CMAKE_COMMAND} -E env ${_nxsm_env}
      RUSTC=${NXSM_CROSS_RUSTC} RUSTC_BOOTSTRAP=1 RUSTFLAGS=
      ${NXSM_CROSS_CARGO} build --release --locked -p nx-security-module
      --target ${NXSM_RUST_TARGET}
      -Zbuild-std=core,compiler_builtins -Zbuild-std-features=compiler-builtins-mem)
else()
  find_program(NXSM_CARGO cargo HINTS $ENV{HOME}/.cargo/bin REQUIRED)
  set(_nxsm_archive ${_nxsm_target_dir}/release/libnx_security_module.a)
  set(_nxsm_cargo ${CMAKE_COMMAND} -E env ${_nxsm_env}
      ${NXSM_CARGO} build --release --locked -p nx-security-module)
endif()

file(GLOB_RECURSE _nxsm_sources CONFIGURE_DEPENDS ${_nxsm_root}/src/*.rs)
add_custom_command(
  OUTPUT ${_nxsm_archive}
  COMMAND ${_nxsm_cargo} --manifest-path ${_nxsm_root}/Cargo.toml --target-dir ${_nxsm_target_dir}
  DEPENDS ${_nxsm_sources} ${_nxsm_root}/Cargo.toml ${_nxsm_root}/Cargo.lock ${_nxsm_root}/build.rs
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
