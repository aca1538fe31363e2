// test=boot: the minimal guest for the boot benchmark (Petrel vs QEMU):
// prints `PetrelOS: boot` and powers off. Works with and without Xen.

enum TestBoot {
    static func run() {
        out.s("PetrelOS: boot").end()
    }
}
