# Runs one firmware ELF under QEMU with semihosting and fails unless QEMU exits with 0.
#
#   cmake -DQEMU=<qemu-system-arm> -DMACHINE=<mps2-an386> -DELF=<app.elf> [-DTIMEOUT=60]
#         [-DTIMEOUT_PROGRAM=<timeout>] [-DQEMU_EXTRA=<arg;arg>] -P run-qemu.cmake
#
# The firmware's own lines go straight to the output. A non-zero exit status (a failed
# check, a fault, or `timeout` killing a hung run) adds a "not ok" line, so a ctest with
# FAIL_REGULAR_EXPRESSION "not ok" fails even though PASS_REGULAR_EXPRESSION ignores the
# exit status.
foreach(_var QEMU MACHINE ELF)
  if(NOT DEFINED ${_var})
    message(FATAL_ERROR "run-qemu.cmake: -D${_var}=... is required")
  endif()
endforeach()
if(NOT DEFINED TIMEOUT)
  set(TIMEOUT 60)
endif()
if(NOT DEFINED TIMEOUT_PROGRAM)
  set(TIMEOUT_PROGRAM timeout)
endif()

set(_command ${TIMEOUT_PROGRAM} ${TIMEOUT} ${QEMU} -M ${MACHINE} -nographic ${QEMU_EXTRA}
    -semihosting-config enable=on,target=native -kernel ${ELF})
list(JOIN _command " " _shown)
message(STATUS "${_shown}")
execute_process(COMMAND ${_command} RESULT_VARIABLE _status)
if(NOT _status STREQUAL "0")
  if(_status STREQUAL "124")
    set(_why "timed out after ${TIMEOUT} s")
  else()
    set(_why "exit status ${_status}")
  endif()
  message(FATAL_ERROR "not ok - qemu ${_why}")
endif()
