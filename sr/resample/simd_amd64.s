#include "textflag.h"

// func cpuid(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)
TEXT ·cpuid(SB), NOSPLIT, $0-24
	MOVL eaxArg+0(FP), AX
	MOVL ecxArg+4(FP), CX
	CPUID
	MOVL AX, eax+8(FP)
	MOVL BX, ebx+12(FP)
	MOVL CX, ecx+16(FP)
	MOVL DX, edx+20(FP)
	RET

// func xgetbv0() (eax uint32)
TEXT ·xgetbv0(SB), NOSPLIT, $0-4
	MOVL $0, CX
	XGETBV
	MOVL AX, eax+0(FP)
	RET

// func sumRowsAVX2(out *float32, n int, rows *unsafe.Pointer, w *float32, taps int, clamp bool)
// out[i] = sum_k w[k] * rows[k][i] for i < n (n a multiple of 8), clamped to [0,1] when clamp.
TEXT ·sumRowsAVX2(SB), NOSPLIT, $0-41
	MOVQ out+0(FP), DI
	MOVQ n+8(FP), CX
	MOVQ rows+16(FP), SI
	MOVQ w+24(FP), DX
	MOVQ taps+32(FP), R8
	MOVBQZX clamp+40(FP), R11
	VXORPS Y2, Y2, Y2
	MOVL $0x3f800000, AX
	MOVL AX, X3
	VBROADCASTSS X3, Y3
	XORQ BX, BX

loop:
	CMPQ CX, $0
	JLE done
	VXORPS Y0, Y0, Y0
	XORQ R9, R9

tap:
	MOVQ (SI)(R9*8), R10
	VBROADCASTSS (DX)(R9*4), Y1
	VFMADD231PS (R10)(BX*1), Y1, Y0
	INCQ R9
	CMPQ R9, R8
	JLT tap

	TESTQ R11, R11
	JZ store
	VMAXPS Y2, Y0, Y0
	VMINPS Y3, Y0, Y0

store:
	VMOVUPS Y0, (DI)(BX*1)
	ADDQ $32, BX
	SUBQ $8, CX
	JMP loop

done:
	VZEROUPPER
	RET
