# The one mapping from a Cortex-M core name to the Rust target triple and the gcc flags.
#
# Included by the toolchain file (cmake/arm-none-eabi.cmake: C flags of everything the
# firmware compiles) and by cmake/NxsmRust.cmake (which Rust target cargo builds), so the C
# objects and the Rust archive always agree on the core and the float ABI.
include_guard(GLOBAL)

set(NXSM_CPU "cortex-m4f" CACHE STRING
    "Cortex-M core for cross builds: cortex-m0plus, cortex-m3, cortex-m4, cortex-m4f, cortex-m7, cortex-m7f, cortex-m33, cortex-m33f")
set_property(CACHE NXSM_CPU PROPERTY STRINGS
    cortex-m0plus cortex-m3 cortex-m4 cortex-m4f cortex-m7 cortex-m7f cortex-m33 cortex-m33f)

# nxsm_cpu_target(<cpu> <out_triple> <out_flags>): <out_flags> is a list.
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
