package monitor

// #include <malloc.h>
//
// // glibc keeps freed memory in its arenas until asked; musl's mallocng
// // returns freed pages to the kernel itself and has no malloc_trim.
// static void hako_malloc_trim(void) {
// #ifdef __GLIBC__
// 	malloc_trim(0);
// #endif
// }
import "C"

// trimCHeap gives back what the C allocator holds free: libseccomp's
// compilation of a filter (when the container's profile was not in the
// precompiled cache yet) leaves about 1.2 MB of freed malloc memory behind
// in the monitor that started it, with glibc. With musl (make build's
// default, LIBC=musl) it is a no-op: mallocng unmaps freed groups itself.
func trimCHeap() { C.hako_malloc_trim() }
