# ctest example_consumer: configures and builds examples/cmake-consumer as a project of its
# own (as a firmware engineer would), with the same toolchain file and core, then runs the
# ELF under QEMU.
#
#   cmake -DSOURCE_DIR=... -DBINARY_DIR=... -DTOOLCHAIN_FILE=... -DNXSM_CPU=...
#         -DGENERATOR=... [-DMAKE_PROGRAM=...] -DQEMU=... -DMACHINE=... -DRUN_QEMU=... -P this
foreach(_var SOURCE_DIR BINARY_DIR TOOLCHAIN_FILE NXSM_CPU GENERATOR QEMU MACHINE RUN_QEMU)
  if(NOT DEFINED ${_var})
    message(FATAL_ERROR "example-consumer.cmake: -D${_var}=... is required")
  endif()
endforeach()

function(_step what)
  list(JOIN ARGN " " _shown)
  message(STATUS "${what}: ${_shown}")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE _status)
  if(NOT _status STREQUAL "0")
    message(FATAL_ERROR "not ok - example ${what} failed (${_status})")
  endif()
endfunction()

set(_configure ${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${BINARY_DIR} -G ${GENERATOR}
    -DCMAKE_TOOLCHAIN_FILE=${TOOLCHAIN_FILE} -DNXSM_CPU=${NXSM_CPU})
if(MAKE_PROGRAM)
  list(APPEND _configure -DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM})
endif()
_step(configure ${_configure})
_step(build ${CMAKE_COMMAND} --build ${BINARY_DIR})

file(GLOB _elves ${BINARY_DIR}/*.elf)
list(LENGTH _elves _count)
if(NOT _count EQUAL 1)
  message(FATAL_ERROR "not ok - expected one .elf in ${BINARY_DIR}, found: ${_elves}")
endif()
_step(run ${CMAKE_COMMAND} -DQEMU=${QEMU} -DMACHINE=${MACHINE} -DELF=${_elves} -P ${RUN_QEMU})
