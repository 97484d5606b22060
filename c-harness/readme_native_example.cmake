# ctest script: compiles the README's native example (the C block that calls
# nxsm_netx_hooks_install) with the application functions it assumes declared.
# -DREADME=... -DOUT=... -DCOMPILER=... -DFLAGS=<;-list>
file(READ ${README} text)
# Semicolons would split the blocks as CMake lists.
string(REPLACE ";" "@SEMICOLON@" text "${text}")
string(REGEX MATCHALL "```c\n[^`]*```" blocks "${text}")
set(example "")
foreach(block IN LISTS blocks)
  if(block MATCHES "nxsm_netx_hooks_install")
    string(REGEX REPLACE "^```c\n" "" block "${block}")
    string(REGEX REPLACE "```$" "" example "${block}")
  endif()
endforeach()
string(REPLACE "@SEMICOLON@" ";" example "${example}")
if(example STREQUAL "")
  message(FATAL_ERROR "no C block calling nxsm_netx_hooks_install in ${README}")
endif()
file(WRITE ${OUT} "#include <stdbool.h>\n#include <stddef.h>\n#include <stdint.h>\n"
  "uint32_t my_unix_time(void);\nuint32_t my_random(void);\nbool hub_connected(void);\n"
  "bool my_send(const uint8_t *bytes, size_t length);\nextern volatile int running;\n"
  "${example}")
execute_process(COMMAND ${COMPILER} -fsyntax-only -std=c99 -Wall -Wextra -Werror
                        -Wno-unused-function ${FLAGS} ${OUT}
                RESULT_VARIABLE result)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "the README's native example does not compile")
endif()
