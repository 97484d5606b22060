# The detection policy compiler (tools/nxsm-policy) as a build step, and a policy built into
# the firmware's flash.
#
#   NXSM_POLICY_FILE  a JSON policy; compiled at build time (the build fails on any error the
#                     compiler reports, or when the blob exceeds NXSM_POLICY_BYTES) into a
#                     const array linked with the shim, and loaded by
#                     nxsm_policy_load_builtin() (the drop-in enable calls it after start).
#
# nxsm_policy_tool(<var>) defines the target `nxsm_policy` (a host build of the compiler,
# whatever the firmware's target; built by default) once and sets <var> to its executable.
# nxsm_builtin_policy(<target> <json>) compiles <json> and adds the generated C file, which
# defines nxsm_policy_load_builtin(), to <target>.
# nxsm_policy_array(<target> <name> <json> [DEPENDS <files or targets>...]) compiles <json>
# (which may be generated: DEPENDS names what makes it and its feeds) and adds a C file
# defining `const uint8_t <name>[]` and `const size_t <name>_bytes` to <target>, for a
# program that loads several policies itself (c-harness/firmware/bench_detect.c).

set(NXSM_POLICY_FILE "" CACHE FILEPATH
    "JSON detection policy built into flash and loaded by nxsm_policy_load_builtin() (empty: none)")

function(nxsm_policy_tool out_var)
  set(_root ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/..)
  set(_exe ${CMAKE_BINARY_DIR}/cargo-tools/release/nxsm-policy)
  if(NOT TARGET nxsm_policy)
    # The host's cargo: the compiler runs on the build machine, whatever the firmware is.
    find_program(NXSM_HOST_CARGO cargo HINTS $ENV{HOME}/.cargo/bin REQUIRED)
    file(GLOB_RECURSE _sources CONFIGURE_DEPENDS ${_root}/tools/nxsm-policy/src/*.rs ${_root}/src/*.rs)
    add_custom_command(
      OUTPUT ${_exe}
      COMMAND ${CMAKE_COMMAND} -E env --unset=RUSTFLAGS --unset=CARGO_BUILD_TARGET
              ${NXSM_HOST_CARGO} build --release --locked -p nxsm-policy --bin nxsm-policy
              --manifest-path ${_root}/Cargo.toml --target-dir ${CMAKE_BINARY_DIR}/cargo-tools
      DEPENDS ${_sources} ${_root}/tools/nxsm-policy/Cargo.toml ${_root}/Cargo.lock
      WORKING_DIRECTORY ${_root}
      COMMENT "cargo: nxsm-policy"
      VERBATIM USES_TERMINAL)
    add_custom_target(nxsm_policy ALL DEPENDS ${_exe})
  endif()
  set(${out_var} ${_exe} PARENT_SCOPE)
endfunction()

# The one rule from a policy file to C: <json> compiled into <out>.bin, written as <out>.c
# (array <name>, or nxsm_policy_load_builtin() when <name> is empty).
function(_nxsm_policy_to_c out json name)
  nxsm_policy_tool(_tool)
  add_custom_command(
    OUTPUT ${out}.c ${out}.bin
    COMMAND ${_tool} ${json} -o ${out}.bin
    COMMAND ${CMAKE_COMMAND} -DBLOB=${out}.bin -DOUT=${out}.c -DLIMIT=${NXSM_POLICY_BYTES}
            -DSOURCE=${json} -DNAME=${name} -P ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/NxsmPolicyToC.cmake
    DEPENDS ${_tool} nxsm_policy ${ARGN} ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/NxsmPolicyToC.cmake
    COMMENT "nxsm-policy: ${json}"
    VERBATIM)
endfunction()

function(nxsm_builtin_policy target json)
  get_filename_component(_json ${json} ABSOLUTE)
  if(NOT EXISTS ${_json})
    message(FATAL_ERROR "nxsm_builtin_policy: ${_json} does not exist")
  endif()
  get_filename_component(_folder ${_json} DIRECTORY)
  # The policy's feeds are in its folder (paths are relative to it): any change rebuilds.
  file(GLOB_RECURSE _inputs CONFIGURE_DEPENDS ${_folder}/*)
  set(_out ${CMAKE_CURRENT_BINARY_DIR}/nxsm_policy_${target})
  _nxsm_policy_to_c(${_out} ${_json} "" ${_inputs})
  target_sources(${target} PRIVATE ${_out}.c)
  target_compile_definitions(${target} PRIVATE NXSM_BUILTIN_POLICY=1)
endfunction()

function(nxsm_policy_array target name json)
  cmake_parse_arguments(PARSE_ARGV 3 _arg "" "" "DEPENDS")
  get_filename_component(_json ${json} ABSOLUTE)
  set(_out ${CMAKE_CURRENT_BINARY_DIR}/${name})
  _nxsm_policy_to_c(${_out} ${_json} ${name} ${_json} ${_arg_DEPENDS})
  target_sources(${target} PRIVATE ${_out}.c)
endfunction()
