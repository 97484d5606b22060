# The build-time capacities from config/capacities.txt (their one table): a cache variable
# per capacity, defaulting to the table's value, and NXSM_CAPACITY_NAMES, the list cargo
# gets them from. build.rs checks the ranges when it builds the core.
set(_nxsm_capacity_table ${CMAKE_CURRENT_LIST_DIR}/../config/capacities.txt)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${_nxsm_capacity_table})
file(STRINGS ${_nxsm_capacity_table} _nxsm_capacity_rows REGEX "^NXSM_")
set(NXSM_CAPACITY_NAMES)
foreach(_nxsm_row IN LISTS _nxsm_capacity_rows)
  if(NOT _nxsm_row MATCHES "^(NXSM_[A-Z0-9_]+)[ \t]+([0-9]+)[ \t]+([0-9]+)[ \t]+([0-9]+)[ \t]+[^ \t|]+[ \t]+[^ \t|]+[ \t]*\\|[ \t]*(.*)$")
    message(FATAL_ERROR "config/capacities.txt: cannot read the row '${_nxsm_row}'")
  endif()
  set(${CMAKE_MATCH_1} ${CMAKE_MATCH_2} CACHE STRING "${CMAKE_MATCH_5} ${CMAKE_MATCH_3}..${CMAKE_MATCH_4}, default ${CMAKE_MATCH_2}.")
  list(APPEND NXSM_CAPACITY_NAMES ${CMAKE_MATCH_1})
endforeach()
if(NOT NXSM_CAPACITY_NAMES)
  message(FATAL_ERROR "config/capacities.txt lists no capacities")
endif()
