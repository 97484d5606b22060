# Sizes of the size-probe images (size_probe.c): what the library adds to a firmware.
#
#   cmake -DSIZE=<arm-none-eabi-size> -DELVES=<with.elf,without.elf[,native.elf]>
#         [-DOUTPUT=<file>] -P size-probes.cmake
#
# Prints `arm-none-eabi-size` of every image, then one line per image for scripts/bench:
#   size <image>: text <bytes> data <bytes> bss <bytes>
# (<image> is the file name without .elf, e.g. nxsm_size_with), and the difference of each
# image from nxsm_size_without as a '#' note. With OUTPUT, the same lines are also written
# to that file.
foreach(_var SIZE ELVES)
  if(NOT DEFINED ${_var})
    message(FATAL_ERROR "size-probes.cmake: -D${_var}=... is required")
  endif()
endforeach()

string(REPLACE "," ";" ELVES "${ELVES}")
execute_process(COMMAND ${SIZE} ${ELVES} OUTPUT_VARIABLE _table RESULT_VARIABLE _status)
if(NOT _status STREQUAL "0")
  message(FATAL_ERROR "not ok - ${SIZE} failed on ${ELVES}")
endif()

set(_report "")
set(_base "")
foreach(_elf IN LISTS ELVES)
  get_filename_component(_name ${_elf} NAME_WE)
  execute_process(COMMAND ${SIZE} ${_elf} OUTPUT_VARIABLE _one RESULT_VARIABLE _status)
  # Berkeley format: a header line, then "text data bss dec hex filename".
  if(NOT _status STREQUAL "0" OR NOT _one MATCHES "\n *([0-9]+)[ \t]+([0-9]+)[ \t]+([0-9]+)[ \t]")
    message(FATAL_ERROR "not ok - cannot read the size of ${_elf}")
  endif()
  set(_text_${_name} ${CMAKE_MATCH_1})
  set(_data_${_name} ${CMAKE_MATCH_2})
  set(_bss_${_name} ${CMAKE_MATCH_3})
  string(APPEND _report "size ${_name}: text ${CMAKE_MATCH_1} data ${CMAKE_MATCH_2} bss ${CMAKE_MATCH_3}\n")
  if(_name MATCHES "without$")
    set(_base ${_name})
  endif()
endforeach()

if(_base)
  foreach(_elf IN LISTS ELVES)
    get_filename_component(_name ${_elf} NAME_WE)
    if(_name STREQUAL _base)
      continue()
    endif()
    foreach(_kind text data bss)
      math(EXPR _d_${_kind} "${_${_kind}_${_name}} - ${_${_kind}_${_base}}")
    endforeach()
    string(APPEND _report "# ${_name} - ${_base}: text ${_d_text} data ${_d_data} bss ${_d_bss}\n")
  endforeach()
endif()

message("${_table}${_report}")
if(OUTPUT)
  file(WRITE ${OUTPUT} "${_table}${_report}")
endif()
