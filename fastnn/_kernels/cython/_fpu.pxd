# Flush-to-zero for the training loop. Optimizer states that decay
# geometrically (momentum, Adam's first moment of a dead unit) fall into
# subnormal floats, where x86 arithmetic is several times slower, and b1 m
# rounds back to m for the smallest subnormals, so they never leave. With
# MXCSR's flush-to-zero bit set, a result below the smallest normal number
# becomes 0 instead; anything that large in absolute value is far below the
# rounding error of the parameters it updates. The setting is per thread and
# is restored before the kernel returns. A no-op where SSE is absent.

cdef extern from *:
    """
    #if defined(__SSE__) || defined(_M_X64)
    #include <xmmintrin.h>
    static unsigned int fastnn_flush_to_zero(void) {
        unsigned int old = _mm_getcsr();
        _mm_setcsr(old | 0x8000u);  /* MXCSR bit 15: flush-to-zero */
        return old;
    }
    static void fastnn_restore_fpu(unsigned int old) { _mm_setcsr(old); }
    #else
    static unsigned int fastnn_flush_to_zero(void) { return 0u; }
    static void fastnn_restore_fpu(unsigned int old) { (void)old; }
    #endif
    """
    unsigned int flush_to_zero "fastnn_flush_to_zero"() noexcept nogil
    void restore_fpu "fastnn_restore_fpu"(unsigned int old) noexcept nogil
