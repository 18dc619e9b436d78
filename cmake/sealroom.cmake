# Helpers shared by the rooms and the tests.

# sr_room(NAME DEPS room... LIBS target...)
# Builds src/NAME/*.c into sr_NAME (static) from object library sr_NAME_obj.
function(sr_room name)
  cmake_parse_arguments(R "" "" "DEPS;LIBS" ${ARGN})
  file(GLOB srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.c)
  add_library(sr_${name}_obj OBJECT ${srcs})
  target_include_directories(sr_${name}_obj PUBLIC ${CMAKE_SOURCE_DIR}/include PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
  set(deps "")
  foreach(d IN LISTS R_DEPS)
    list(APPEND deps sr_${d})
  endforeach()
  target_link_libraries(sr_${name}_obj PUBLIC ${deps} ${R_LIBS})
  add_library(sr_${name} STATIC $<TARGET_OBJECTS:sr_${name}_obj>)
  target_include_directories(sr_${name} PUBLIC ${CMAKE_SOURCE_DIR}/include)
  target_link_libraries(sr_${name} PUBLIC ${deps} ${R_LIBS})
endfunction()
