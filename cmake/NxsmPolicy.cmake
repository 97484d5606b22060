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

function(nxsm_builtin_policy target json)
  get_filename_component(_json ${json} ABSOLUTE)
  if(NOT EXISTS ${_json})
    message(FATAL_ERROR "nxsm_builtin_policy: ${_json} does not exist")
  endif()
  nxsm_policy_tool(_tool)
  get_filename_component(_folder ${_json} DIRECTORY)
  # The policy's feeds are in its folder (paths are relative to it): any change rebuilds.
  file(GLOB_RECURSE _inputs CONFIGURE_DEPENDS ${_folder}/*)
  set(_out ${CMAKE_CURRENT_BINARY_DIR}/nxsm_policy_${target})
  add_custom_command(
    OUTPUT ${_out}.c
    COMMAND ${_tool} ${_json} -o ${_out}.bin
    COMMAND ${CMAKE_COMMAND} -DBLOB=${_out}.bin -DOUT=${_out}.c -DLIMIT=${NXSM_POLICY_BYTES}
            -DSOURCE=${_json} -P ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/NxsmPolicyToC.cmake
    DEPENDS ${_tool} nxsm_policy ${_inputs} ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/NxsmPolicyToC.cmake
    COMMENT "nxsm-policy: ${_json}"
    VERBATIM)
  target_sources(${target} PRIVATE ${_out}.c)
  target_compile_definitions(${target} PRIVATE NXSM_BUILTIN_POLICY=1)
endfunction()
