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

// func toFloatAVX2(dst *float32, src unsafe.Pointer, n int, scale float32, wide bool)
// dst[i] = float32(src[i]) * scale for i < n (n a multiple of 8); src holds bytes, or 16-bit
// words when wide.
TEXT ·toFloatAVX2(SB), NOSPLIT, $0-29
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS scale+24(FP), Y2
	MOVBQZX wide+28(FP), R11
	XORQ BX, BX

tfloop:
	CMPQ BX, CX
	JGE tfdone
	TESTQ R11, R11
	JNZ tfwide
	VPMOVZXBD (SI)(BX*1), Y0
	JMP tfconv

tfwide:
	VPMOVZXWD (SI)(BX*2), Y0

tfconv:
	VCVTDQ2PS Y0, Y0
	VMULPS Y2, Y0, Y0
	VMOVUPS Y0, (DI)(BX*4)
	ADDQ $8, BX
	JMP tfloop

tfdone:
	VZEROUPPER
	RET

// func fromFloatAVX2(dst unsafe.Pointer, src *float32, n int, scale float32, wide bool)
// dst[i] = truncate(src[i]*scale + 0.5) for i < n (n a multiple of 8), src in [0,1] and scale
// at most 65535; dst holds bytes, or 16-bit words when wide.
TEXT ·fromFloatAVX2(SB), NOSPLIT, $0-29
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS scale+24(FP), Y2
	MOVBQZX wide+28(FP), R11
	MOVL $0x3f000000, AX
	MOVL AX, X3
	VBROADCASTSS X3, Y3
	XORQ BX, BX

ffloop:
	CMPQ BX, CX
	JGE ffdone
	VMOVUPS (SI)(BX*4), Y0
	VFMADD213PS Y3, Y2, Y0
	VCVTTPS2DQ Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPACKUSDW X1, X0, X0
	TESTQ R11, R11
	JNZ ffwide
	VPACKUSWB X0, X0, X0
	MOVQ X0, (DI)(BX*1)
	JMP ffnext

ffwide:
	VMOVDQU X0, (DI)(BX*2)

ffnext:
	ADDQ $8, BX
	JMP ffloop

ffdone:
	VZEROUPPER
	RET
