// Runs one block of a cooperative kernel (barriers, shuffles, workgroup
// memory) on the fake CUDA device: its threads as fibers
// (FakeCudaBlocks.cpp).
#pragma once

#include <cstdint>
#include <string>

extern "C" {
// The hooks an artifact's host copies call (HostKernels.cpp), installed by
// cuModuleGetFunction.
void fakeCudaBarrier();
int32_t fakeCudaShuffle(int32_t value, int32_t offset, int32_t width, int32_t mode);
// mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 of the calling warp:
// `a` (4 words), `b` (2 words) and `cd` (4 floats) address the lane's
// fragments as the PTX ISA lays them out; D replaces C.
void fakeCudaMma(int64_t a, int64_t b, int64_t cd);
// ldmatrix.sync.aligned.m8n8.x4.b16 of the calling warp: `row` is the
// lane's row address (lanes 8i..8i + 7 give matrix i's rows; 16-byte
// aligned), `words` receives the lane's word of each matrix.
void fakeCudaLdMatrix(int64_t row, int64_t words);
}

namespace fake_cuda {

using HostKernel = void (*)(void **params, const int64_t *ids);

// Runs every thread of the block `ids` names (its thread ids ignored);
// false, with `error` set, when its threads disagree on a barrier, shuffle
// or MMA.
bool runCooperativeBlock(HostKernel run, void **params, const int64_t ids[12], std::string &error);

} // namespace fake_cuda
