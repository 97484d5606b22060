# Size of the Rust archive: its objects as built, and what a firmware link keeps of them.
#
#   cmake -DSIZE=<arm-none-eabi-size> -DARCHIVE=<libnx_security_module.a> [-DMAP=<fw.map>]
#         -P size-report.cmake
#
# 1. `size -t` of the archive: every object, before --gc-sections (core and
#    compiler_builtins come whole; a firmware keeps only the few functions it calls).
# 2. With MAP (the firmware's link map): the input sections the link kept from the archive,
#    summed as text (code, constants, unwind tables), data and bss, split into the crate
#    with its dependencies and core + compiler_builtins. The latter also resolves the C
#    side's memcpy/memset and soft-float calls (the archive precedes libc and libgcc on the
#    link line), so it is shared runtime rather than the module's own cost.
foreach(_var SIZE ARCHIVE)
  if(NOT DEFINED ${_var})
    message(FATAL_ERROR "size-report.cmake: -D${_var}=... is required")
  endif()
endforeach()

execute_process(COMMAND ${SIZE} -t ${ARCHIVE} OUTPUT_VARIABLE _table RESULT_VARIABLE _status)
if(NOT _status STREQUAL "0")
  message(FATAL_ERROR "${SIZE} -t ${ARCHIVE} failed")
endif()
message("Rust archive objects (${SIZE} -t ${ARCHIVE}):\n${_table}")

if(NOT MAP)
  return()
endif()

# Right-aligns each value in a column of width 8.
function(_row out label)
  set(_text "")
  foreach(_value IN LISTS ARGN)
    string(LENGTH "${_value}" _length)
    math(EXPR _pad "8 - ${_length}")
    if(_pad LESS 1)
      set(_pad 1)
    endif()
    string(REPEAT " " ${_pad} _spaces)
    string(APPEND _text "${_spaces}${_value}")
  endforeach()
  set(${out} "${_text}  ${label}" PARENT_SCOPE)
endfunction()

get_filename_component(_archive_name ${ARCHIVE} NAME)
string(REPLACE "." "\\." _archive_re "${_archive_name}")
file(STRINGS ${MAP} _lines)
set(_in_memory_map OFF)
set(_pending_section "")
foreach(_group crate runtime)
  foreach(_kind text data bss)
    set(_${_group}_${_kind} 0)
  endforeach()
endforeach()
foreach(_line IN LISTS _lines)
  if(NOT _in_memory_map)
    # Skip the discarded-sections list at the top of the map.
    if(_line MATCHES "^Linker script and memory map")
      set(_in_memory_map ON)
    endif()
    continue()
  endif()
  # An input section is " <name> 0x<addr> 0x<size> <file>"; a long name stands alone on the
  # line before.
  if(_line MATCHES "^ (\\.[^ ]+|COMMON)$")
    set(_pending_section "${CMAKE_MATCH_1}")
    continue()
  endif()
  set(_section "")
  if(_line MATCHES "^ (\\.[^ ]+|COMMON) +0x[0-9a-f]+ +0x([0-9a-f]+) (.+)$")
    set(_section "${CMAKE_MATCH_1}")
    set(_size_hex "${CMAKE_MATCH_2}")
    set(_file "${CMAKE_MATCH_3}")
  elseif(_pending_section AND _line MATCHES "^ +0x[0-9a-f]+ +0x([0-9a-f]+) (.+)$")
    set(_section "${_pending_section}")
    set(_size_hex "${CMAKE_MATCH_1}")
    set(_file "${CMAKE_MATCH_2}")
  endif()
  set(_pending_section "")
  if(NOT _section OR NOT _file MATCHES "${_archive_re}\\(([^)]+)\\)")
    continue()
  endif()
  set(_member "${CMAKE_MATCH_1}")
  if(_section MATCHES "^\\.(text|rodata|ARM\\.ex)")
    set(_kind text)
  elseif(_section MATCHES "^\\.data")
    set(_kind data)
  elseif(_section MATCHES "^\\.bss|^COMMON")
    set(_kind bss)
  else()
    continue() # debug info, attributes, comments: not in the image
  endif()
  if(_member MATCHES "^(core|compiler_builtins)-")
    set(_group runtime)
  else()
    set(_group crate)
  endif()
  math(EXPR _${_group}_${_kind} "${_${_group}_${_kind}} + 0x${_size_hex}")
endforeach()

set(_report "Rust archive sections kept in the firmware after --gc-sections (${MAP}):\n")
_row(_line "" text data bss total)
string(APPEND _report "${_line}\n")
foreach(_group crate runtime)
  math(EXPR _total "${_${_group}_text} + ${_${_group}_data} + ${_${_group}_bss}")
  if(_group STREQUAL "crate")
    set(_label "nx-security-module and its dependencies")
  else()
    set(_label "core + compiler_builtins (memcpy, float helpers: also used by the C side)")
  endif()
  _row(_line "${_label}" ${_${_group}_text} ${_${_group}_data} ${_${_group}_bss} ${_total})
  string(APPEND _report "${_line}\n")
endforeach()
message("${_report}")
