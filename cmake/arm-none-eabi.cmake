# CMake toolchain file for bare-metal Cortex-M with the GNU Arm toolchain (arm-none-eabi-gcc).
#
#   cmake -S . -B build-arm -G Ninja -DCMAKE_TOOLCHAIN_FILE=cmake/arm-none-eabi.cmake \
#         [-DNXSM_CPU=cortex-m4f]
#
# NXSM_CPU picks the core; cmake/NxsmCpu.cmake maps it to gcc flags here and to the Rust
# target in cmake/NxsmRust.cmake. Code is size-optimised with one section per function and
# object, and executables link with --gc-sections. No C library specs are forced: a firmware
# chooses its own (the QEMU test firmware uses --specs=rdimon.specs for semihosting).

set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR arm)

set(CMAKE_C_COMPILER arm-none-eabi-gcc)
set(CMAKE_CXX_COMPILER arm-none-eabi-g++)
set(CMAKE_ASM_COMPILER arm-none-eabi-gcc)
find_program(CMAKE_AR arm-none-eabi-ar)
find_program(CMAKE_RANLIB arm-none-eabi-ranlib)
find_program(CMAKE_OBJCOPY arm-none-eabi-objcopy)
find_program(CMAKE_SIZE arm-none-eabi-size)

# Compiler checks build a static library: a bare-metal executable needs a linker script.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)
# try_compile projects re-read this file; hand them the chosen core.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES NXSM_CPU)

include(${CMAKE_CURRENT_LIST_DIR}/NxsmCpu.cmake)
nxsm_cpu_target("${NXSM_CPU}" _nxsm_tc_triple _nxsm_tc_cpu_flags)
list(JOIN _nxsm_tc_cpu_flags " " _nxsm_tc_cpu_flags)

set(CMAKE_C_FLAGS_INIT "${_nxsm_tc_cpu_flags} -Os -ffunction-sections -fdata-sections")
set(CMAKE_CXX_FLAGS_INIT "${CMAKE_C_FLAGS_INIT}")
set(CMAKE_ASM_FLAGS_INIT "${_nxsm_tc_cpu_flags}")
# Keep -Os for the optimised build types too (CMake's defaults would use -O2/-O3).
foreach(_nxsm_tc_lang C CXX ASM)
  set(CMAKE_${_nxsm_tc_lang}_FLAGS_RELEASE_INIT "-Os -DNDEBUG")
  set(CMAKE_${_nxsm_tc_lang}_FLAGS_MINSIZEREL_INIT "-Os -DNDEBUG")
  set(CMAKE_${_nxsm_tc_lang}_FLAGS_RELWITHDEBINFO_INIT "-Os -g -DNDEBUG")
endforeach()
set(CMAKE_EXE_LINKER_FLAGS_INIT "${_nxsm_tc_cpu_flags} -Wl,--gc-sections")
# Bare metal has no executable-stack notion; binutils >= 2.39 still warns that newlib's crt
# objects lack .note.GNU-stack. Silence that where the linker knows the option.
execute_process(COMMAND arm-none-eabi-ld --help OUTPUT_VARIABLE _nxsm_tc_ld_help ERROR_QUIET)
if(_nxsm_tc_ld_help MATCHES "--no-warn-execstack")
  string(APPEND CMAKE_EXE_LINKER_FLAGS_INIT " -Wl,--no-warn-execstack")
endif()

# Programs come from the host; headers and libraries only from the target's tree.
set(CMAKE_FIND_ROOT_PATH /usr/lib/arm-none-eabi)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
