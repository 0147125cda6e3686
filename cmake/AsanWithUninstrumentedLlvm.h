// Force-included into every C++ file of a sanitized build (CMakeLists.txt).
//
// LLVM's headers poison the slabs of BumpPtrAllocator when the file
// including them is built with AddressSanitizer (LLVM_ADDRESS_SANITIZER_BUILD
// in llvm/Support/Compiler.h). Debian's libLLVM and libMLIR are not: their
// code allocates from the same slabs without unpoisoning, and ASan reports
// its writes as use-after-poison. Poisoning is turned off here; every other
// ASan check of ember's own code stays.
#pragma once

#if defined(__cplusplus) && __has_include(<sanitizer/asan_interface.h>)
#include <sanitizer/asan_interface.h>
#define __asan_poison_memory_region(address, size) ((void)(address), (void)(size))
#define __asan_unpoison_memory_region(address, size) ((void)(address), (void)(size))
#endif
