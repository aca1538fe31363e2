// C runtime entry points Embedded Swift needs. memset/memcpy/memmove/memcmp and
// posix_memalign/free are in Boot/cpu.S (so the compiler cannot turn them into calls
// to themselves, and `free` is a name Swift reserves). putchar feeds the console,
// e.g. for the runtime's fatal-error messages.

@_cdecl("putchar")
func putchar(_ c: Int32) -> Int32 {
    Console.put(UInt8(truncatingIfNeeded: c))
    return c
}
