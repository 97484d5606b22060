# cmake -DAR=<ar> -DIN=<cargo's archive> -DOUT=<archive to link> -P NxsmUseFirmwareLibc.cmake
#
# Copies the Rust archive without its compiler_builtins objects. Those define memcpy,
# memset, memmove, memcmp, integer division and soft-float helpers; linked first, they
# would replace the firmware's own C library and libgcc routines for every caller (NetX
# Duo, ThreadX, printf). Without them the core takes those routines from the firmware's
# C library and libgcc, like any C object. The copy leaves cargo's own output untouched,
# so cargo's freshness checks stay right.
cmake_policy(SET CMP0007 NEW)
execute_process(COMMAND ${CMAKE_COMMAND} -E copy ${IN} ${OUT}.tmp RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "cannot copy ${IN}")
endif()
execute_process(COMMAND ${AR} t ${OUT}.tmp OUTPUT_VARIABLE members RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "${AR} cannot list ${IN}")
endif()
string(REPLACE "\n" ";" members "${members}")
# compiler_builtins' Rust object, and the compiler-rt C objects a prebuilt target library
# adds to it (the only members not compiled by rustc).
set(builtins ${members})
list(FILTER builtins EXCLUDE REGEX "\\.rcgu\\.o$")
list(FILTER members INCLUDE REGEX "^compiler_builtins-")
list(APPEND builtins ${members})
if(builtins)
  # The explicit target keeps binutils from handing rustc's objects to an LTO plugin of
  # another LLVM, which reads no symbols from them and would leave them out of the index.
  execute_process(COMMAND ${AR} --target=elf32-littlearm d ${OUT}.tmp ${builtins}
                  RESULT_VARIABLE status ERROR_QUIET)
  if(NOT status EQUAL 0)
    execute_process(COMMAND ${AR} d ${OUT}.tmp ${builtins} RESULT_VARIABLE status)
  endif()
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "${AR} cannot remove compiler_builtins from ${OUT}.tmp")
  endif()
endif()
file(RENAME ${OUT}.tmp ${OUT})
