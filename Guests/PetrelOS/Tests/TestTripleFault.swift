// test=triplefault: loads an IDT with limit 0 and executes ud2; the #UD cannot be
// delivered, nor the #GP/#DF that follow: a triple fault, with no shutdown hypercall.

enum TestTripleFault {
    static func run() {
        out.s("triplefault: loading an empty IDT and faulting").end()
        Console.flush()
        petrel_triple_fault()
    }
}
