/* Must NOT compile: the uapi CTest checks the compiler stops at cocomem's own #error. */
#include <linux/kvm.h>

/* Second on purpose (kept in its own include block so formatting cannot reorder it). */
#include <cocomem/kvm.h>
