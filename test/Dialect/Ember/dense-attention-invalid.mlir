// RUN: ember-opt %s -split-input-file -verify-diagnostics

func.func @linear_rank(%x: memref<96xf32>, %w: memref<48x96xf32>, %y: memref<?x48xf32>) {
  // expected-error @+1 {{x must have rank 2, got rank 1}}
  ember.linear %x, %w into %y : memref<96xf32>, memref<48x96xf32> into memref<?x48xf32>
  return
}

// -----
func.func @linear_inner(%x: memref<?x64xf32>, %w: memref<48x96xf32>, %y: memref<?x48xf32>) {
  // expected-error @+1 {{x dim 1 (64) must equal weight dim 1 (96)}}
  ember.linear %x, %w into %y : memref<?x64xf32>, memref<48x96xf32> into memref<?x48xf32>
  return
}

// -----
func.func @linear_tokens(%x: memref<3x96xf32>, %w: memref<48x96xf32>, %y: memref<4x48xf32>) {
  // expected-error @+1 {{out dim 0 (4) must equal x dim 0 (3)}}
  ember.linear %x, %w into %y : memref<3x96xf32>, memref<48x96xf32> into memref<4x48xf32>
  return
}

// -----
func.func @linear_outputs(%x: memref<?x96xf32>, %w: memref<48x96xf32>, %y: memref<?x40xf32>) {
  // expected-error @+1 {{out dim 1 (40) must equal weight dim 0 (48)}}
  ember.linear %x, %w into %y : memref<?x96xf32>, memref<48x96xf32> into memref<?x40xf32>
  return
}

// -----
func.func @linear_weight_type(%x: memref<?x96xf32>, %w: memref<48x96xi8>, %y: memref<?x48xf32>) {
  // expected-error @+1 {{operand #1 must be memref of 32-bit float or bfloat16 type or 16-bit float or f8E4M3FN type values}}
  ember.linear %x, %w into %y : memref<?x96xf32>, memref<48x96xi8> into memref<?x48xf32>
  return
}

// -----
func.func @fp8_without_scales(%x: memref<?x96xf32>, %w: memref<48x96xf8E4M3FN>, %y: memref<?x48xf32>) {
  // expected-error @+1 {{an f8E4M3FN weight needs weight_scale and weight_block}}
  ember.linear %x, %w into %y : memref<?x96xf32>, memref<48x96xf8E4M3FN> into memref<?x48xf32>
  return
}

// -----
func.func @scales_of_bf16(%x: memref<?x96xf32>, %w: memref<48x96xbf16>, %s: memref<1x1xf32>, %y: memref<?x48xf32>) {
  // expected-error @+1 {{weight_scale and weight_block apply to an f8E4M3FN weight only, got 'bf16'}}
  ember.linear %x, %w scaled %s into %y {weight_block = array<i64: 128, 128>} : memref<?x96xf32>, memref<48x96xbf16> scaled memref<1x1xf32> into memref<?x48xf32>
  return
}

// -----
func.func @fp8_block(%x: memref<?x96xf32>, %w: memref<48x96xf8E4M3FN>, %s: memref<1x1xf32>, %y: memref<?x48xf32>) {
  // expected-error @+1 {{weight_block must be [rows, cols], both >= 1}}
  ember.linear %x, %w scaled %s into %y {weight_block = array<i64: 128, 0>} : memref<?x96xf32>, memref<48x96xf8E4M3FN> scaled memref<1x1xf32> into memref<?x48xf32>
  return
}

// -----
func.func @fp8_scale_rank(%x: memref<?x96xf32>, %w: memref<48x96xf8E4M3FN>, %s: memref<2xf32>, %y: memref<?x48xf32>) {
  // expected-error @+1 {{weight_scale must have rank 2, got rank 1}}
  ember.linear %x, %w scaled %s into %y {weight_block = array<i64: 32, 64>} : memref<?x96xf32>, memref<48x96xf8E4M3FN> scaled memref<2xf32> into memref<?x48xf32>
  return
}

// -----
func.func @fp8_scale_shape(%x: memref<?x96xf32>, %w: memref<48x96xf8E4M3FN>, %s: memref<2x1xf32>, %y: memref<?x48xf32>) {
  // expected-error @+1 {{weight_scale dim 1 (1) must be ceil(weight dim 1 (96) / 64) = 2}}
  ember.linear %x, %w scaled %s into %y {weight_block = array<i64: 32, 64>} : memref<?x96xf32>, memref<48x96xf8E4M3FN> scaled memref<2x1xf32> into memref<?x48xf32>
  return
}

// -----
func.func @norm_weight_rank(%x: memref<?x48xf32>, %w: memref<1x48xf32>) {
  // expected-error @+1 {{weight must have rank 1, got rank 2}}
  ember.rms_norm %x, %w into %x {eps = 1.0e-5 : f32} : memref<?x48xf32>, memref<1x48xf32> into memref<?x48xf32>
  return
}

// -----
func.func @norm_eps(%x: memref<?x48xf32>, %w: memref<48xf32>) {
  // expected-error @+1 {{eps must be > 0, got 0}}
  ember.rms_norm %x, %w into %x {eps = 0.0 : f32} : memref<?x48xf32>, memref<48xf32> into memref<?x48xf32>
  return
}

// -----
func.func @norm_width(%x: memref<?x48xf32>, %w: memref<32xf32>) {
  // expected-error @+1 {{x dim 1 (48) must equal weight dim 0 (32)}}
  ember.rms_norm %x, %w into %x {eps = 1.0e-5 : f32} : memref<?x48xf32>, memref<32xf32> into memref<?x48xf32>
  return
}

// -----
func.func @norm_out(%x: memref<?x48xf32>, %w: memref<48xf32>, %y: memref<?x32xf32>) {
  // expected-error @+1 {{out dim 1 (32) must equal x dim 1 (48)}}
  ember.rms_norm %x, %w into %y {eps = 1.0e-5 : f32} : memref<?x48xf32>, memref<48xf32> into memref<?x32xf32>
  return
}

// -----
func.func @norm_tokens(%x: memref<2x48xf32>, %w: memref<48xf32>, %y: memref<3x48xf32>) {
  // expected-error @+1 {{out dim 0 (3) must equal x dim 0 (2)}}
  ember.rms_norm %x, %w into %y {eps = 1.0e-5 : f32} : memref<2x48xf32>, memref<48xf32> into memref<3x48xf32>
  return
}

// -----
func.func @silu_rank(%g: memref<?x8x2xf32>, %u: memref<?x16xf32>, %h: memref<?x16xf32>) {
  // expected-error @+1 {{gate must have rank 2, got rank 3}}
  ember.silu_mul %g, %u into %h : memref<?x8x2xf32>, memref<?x16xf32> into memref<?x16xf32>
  return
}

// -----
func.func @silu_up(%g: memref<?x16xf32>, %u: memref<?x8xf32>, %h: memref<?x16xf32>) {
  // expected-error @+1 {{up dim 1 (8) must equal gate dim 1 (16)}}
  ember.silu_mul %g, %u into %h : memref<?x16xf32>, memref<?x8xf32> into memref<?x16xf32>
  return
}

// -----
func.func @silu_tokens(%g: memref<2x16xf32>, %u: memref<3x16xf32>, %h: memref<2x16xf32>) {
  // expected-error @+1 {{up dim 0 (3) must equal gate dim 0 (2)}}
  ember.silu_mul %g, %u into %h : memref<2x16xf32>, memref<3x16xf32> into memref<2x16xf32>
  return
}

// -----
func.func @silu_out(%g: memref<?x16xf32>, %u: memref<?x16xf32>, %h: memref<?x8xf32>) {
  // expected-error @+1 {{out dim 1 (8) must equal gate dim 1 (16)}}
  ember.silu_mul %g, %u into %h : memref<?x16xf32>, memref<?x16xf32> into memref<?x8xf32>
  return
}

// -----
func.func @silu_out_tokens(%g: memref<2x16xf32>, %u: memref<2x16xf32>, %h: memref<3x16xf32>) {
  // expected-error @+1 {{out dim 0 (3) must equal gate dim 0 (2)}}
  ember.silu_mul %g, %u into %h : memref<2x16xf32>, memref<2x16xf32> into memref<3x16xf32>
  return
}

// -----
func.func @rope_rank(%x: memref<8xf32>, %p: memref<?xi32>) {
  // expected-error @+1 {{x must have rank >= 2 ([T, ..., R]), got rank 1}}
  ember.rope %x, %p into %x {inv_freq = array<f32: 1.0, 0.1, 0.01, 0.001>} : memref<8xf32>, memref<?xi32> into memref<8xf32>
  return
}

// -----
func.func @rope_out_rank(%x: memref<?x8xf32>, %y: memref<?x1x8xf32>, %p: memref<?xi32>) {
  // expected-error @+1 {{out must have rank 2, got rank 3}}
  ember.rope %x, %p into %y {inv_freq = array<f32: 1.0, 0.1, 0.01, 0.001>} : memref<?x8xf32>, memref<?xi32> into memref<?x1x8xf32>
  return
}

// -----
func.func @rope_out_dims(%x: memref<?x4x8xf32>, %y: memref<?x2x8xf32>, %p: memref<?xi32>) {
  // expected-error @+1 {{out dim 1 (2) must equal x dim 1 (4)}}
  ember.rope %x, %p into %y {inv_freq = array<f32: 1.0, 0.1, 0.01, 0.001>} : memref<?x4x8xf32>, memref<?xi32> into memref<?x2x8xf32>
  return
}

// -----
func.func @rope_dynamic(%x: memref<?x?xf32>, %p: memref<?xi32>) {
  // expected-error @+1 {{the rotary dim (last dim of x) must be static}}
  ember.rope %x, %p into %x {inv_freq = array<f32: 1.0>} : memref<?x?xf32>, memref<?xi32> into memref<?x?xf32>
  return
}

// -----
func.func @rope_odd(%x: memref<?x7xf32>, %p: memref<?xi32>) {
  // expected-error @+1 {{the rotary dim (last dim of x) must be even, got 7}}
  ember.rope %x, %p into %x {inv_freq = array<f32: 1.0, 0.1, 0.01>} : memref<?x7xf32>, memref<?xi32> into memref<?x7xf32>
  return
}

// -----
func.func @rope_freqs(%x: memref<?x8xf32>, %p: memref<?xi32>) {
  // expected-error @+1 {{inv_freq must have one entry per pair (4), got 3}}
  ember.rope %x, %p into %x {inv_freq = array<f32: 1.0, 0.1, 0.01>} : memref<?x8xf32>, memref<?xi32> into memref<?x8xf32>
  return
}

// -----
func.func @absorb_rank(%q: memref<?x64xf32>, %kvb: memref<128x32xf32>, %out: memref<?x4x32xf32>) {
  // expected-error @+1 {{q_nope must have rank 3, got rank 2}}
  ember.mla_absorb %q, %kvb into %out : memref<?x64xf32>, memref<128x32xf32> into memref<?x4x32xf32>
  return
}

// -----
func.func @absorb_heads(%q: memref<?x4x16xf32>, %kvb: memref<128x32xf32>, %out: memref<?x2x32xf32>) {
  // expected-error @+1 {{out dim 1 (2) must equal q_nope dim 1 (4)}}
  ember.mla_absorb %q, %kvb into %out : memref<?x4x16xf32>, memref<128x32xf32> into memref<?x2x32xf32>
  return
}

// -----
func.func @absorb_latent(%q: memref<?x4x16xf32>, %kvb: memref<128x32xf32>, %out: memref<?x4x16xf32>) {
  // expected-error @+1 {{out dim 2 (16) must equal kv_b dim 1 (32)}}
  ember.mla_absorb %q, %kvb into %out : memref<?x4x16xf32>, memref<128x32xf32> into memref<?x4x16xf32>
  return
}

// -----
func.func @absorb_rows(%q: memref<?x4x32xf32>, %kvb: memref<128x32xf32>, %out: memref<?x4x32xf32>) {
  // expected-error @+1 {{kv_b has 128 rows, expected heads (4) x (qk_nope_head_dim (32) + at least 1)}}
  ember.mla_absorb %q, %kvb into %out : memref<?x4x32xf32>, memref<128x32xf32> into memref<?x4x32xf32>
  return
}

// -----
func.func @attention_rank(%ql: memref<?x4x32xf32>, %qr: memref<?x4x8xf32>, %cache: memref<64x40xf32>, %p: memref<?xi32>, %out: memref<?x4x32xf32>) {
  // expected-error @+1 {{cache must have rank 3, got rank 2}}
  ember.mla_attention %ql, %qr, %cache[%p, %p] into %out {scale = 0.25 : f32} : memref<?x4x32xf32>, memref<?x4x8xf32>, memref<?xi32>, memref<64x40xf32> into memref<?x4x32xf32>
  return
}

// -----
func.func @attention_out(%ql: memref<?x4x32xf32>, %qr: memref<?x4x8xf32>, %cache: memref<1x64x40xf32>, %p: memref<?xi32>, %out: memref<?x4x16xf32>) {
  // expected-error @+1 {{out dim 2 (16) must equal q_lat dim 2 (32)}}
  ember.mla_attention %ql, %qr, %cache[%p, %p] into %out {scale = 0.25 : f32} : memref<?x4x32xf32>, memref<?x4x8xf32>, memref<?xi32>, memref<1x64x40xf32> into memref<?x4x16xf32>
  return
}

// -----
func.func @attention_rope_heads(%ql: memref<?x4x32xf32>, %qr: memref<?x2x8xf32>, %cache: memref<1x64x40xf32>, %p: memref<?xi32>, %out: memref<?x4x32xf32>) {
  // expected-error @+1 {{q_rope dim 1 (2) must equal q_lat dim 1 (4)}}
  ember.mla_attention %ql, %qr, %cache[%p, %p] into %out {scale = 0.25 : f32} : memref<?x4x32xf32>, memref<?x2x8xf32>, memref<?xi32>, memref<1x64x40xf32> into memref<?x4x32xf32>
  return
}

// -----
func.func @attention_rope_tokens(%ql: memref<2x4x32xf32>, %qr: memref<3x4x8xf32>, %cache: memref<1x64x40xf32>, %p: memref<?xi32>, %out: memref<2x4x32xf32>) {
  // expected-error @+1 {{q_rope dim 0 (3) must equal q_lat dim 0 (2)}}
  ember.mla_attention %ql, %qr, %cache[%p, %p] into %out {scale = 0.25 : f32} : memref<2x4x32xf32>, memref<3x4x8xf32>, memref<?xi32>, memref<1x64x40xf32> into memref<2x4x32xf32>
  return
}

// -----
func.func @attention_rows(%ql: memref<2x4x32xf32>, %qr: memref<2x4x8xf32>, %cache: memref<1x64x40xf32>, %p: memref<3xi32>, %out: memref<2x4x32xf32>) {
  // expected-error @+1 {{slots dim 0 (3) must equal q_lat dim 0 (2)}}
  ember.mla_attention %ql, %qr, %cache[%p, %p] into %out {scale = 0.25 : f32} : memref<2x4x32xf32>, memref<2x4x8xf32>, memref<3xi32>, memref<1x64x40xf32> into memref<2x4x32xf32>
  return
}

// -----
func.func @rope_positions(%x: memref<2x8xf32>, %p: memref<3xi32>) {
  // expected-error @+1 {{positions dim 0 (3) must equal x dim 0 (2)}}
  ember.rope %x, %p into %x {inv_freq = array<f32: 1.0, 0.1, 0.01, 0.001>} : memref<2x8xf32>, memref<3xi32> into memref<2x8xf32>
  return
}

// -----
func.func @attention_row(%ql: memref<?x4x32xf32>, %qr: memref<?x4x8xf32>, %cache: memref<1x64x36xf32>, %p: memref<?xi32>, %out: memref<?x4x32xf32>) {
  // expected-error @+1 {{cache rows hold 36 values, expected kv_lora (32) + rope (8) = 40}}
  ember.mla_attention %ql, %qr, %cache[%p, %p] into %out {scale = 0.25 : f32} : memref<?x4x32xf32>, memref<?x4x8xf32>, memref<?xi32>, memref<1x64x36xf32> into memref<?x4x32xf32>
  return
}

// -----
func.func @up_v_rank(%ol: memref<?x4x32xf32>, %kvb: memref<128x32xf32>, %out: memref<?x64xf32>) {
  // expected-error @+1 {{out must have rank 3, got rank 2}}
  ember.mla_up_v %ol, %kvb into %out : memref<?x4x32xf32>, memref<128x32xf32> into memref<?x64xf32>
  return
}

// -----
func.func @up_v_latent(%ol: memref<?x4x16xf32>, %kvb: memref<128x32xf32>, %out: memref<?x4x16xf32>) {
  // expected-error @+1 {{kv_b dim 1 (32) must equal o_lat dim 2 (16)}}
  ember.mla_up_v %ol, %kvb into %out : memref<?x4x16xf32>, memref<128x32xf32> into memref<?x4x16xf32>
  return
}

// -----
func.func @up_v_heads(%ol: memref<?x4x32xf32>, %kvb: memref<128x32xf32>, %out: memref<?x2x16xf32>) {
  // expected-error @+1 {{out dim 1 (2) must equal o_lat dim 1 (4)}}
  ember.mla_up_v %ol, %kvb into %out : memref<?x4x32xf32>, memref<128x32xf32> into memref<?x2x16xf32>
  return
}

// -----
func.func @up_v_tokens(%ol: memref<2x4x32xf32>, %kvb: memref<128x32xf32>, %out: memref<3x4x16xf32>) {
  // expected-error @+1 {{out dim 0 (3) must equal o_lat dim 0 (2)}}
  ember.mla_up_v %ol, %kvb into %out : memref<2x4x32xf32>, memref<128x32xf32> into memref<3x4x16xf32>
  return
}

// -----
func.func @up_v_rows(%ol: memref<?x3x32xf32>, %kvb: memref<128x32xf32>, %out: memref<?x3x16xf32>) {
  // expected-error @+1 {{kv_b has 128 rows, expected heads (3) x (v_head_dim (16) + at least 1)}}
  ember.mla_up_v %ol, %kvb into %out : memref<?x3x32xf32>, memref<128x32xf32> into memref<?x3x16xf32>
  return
}

// -----
func.func @absorb_fp8_scale_shape(%q: memref<?x4x16xf32>, %kvb: memref<128x32xf8E4M3FN>, %s: memref<2x1xf32>, %ql: memref<?x4x32xf32>) {
  // expected-error @+1 {{weight_scale dim 0 (2) must be ceil(kv_b dim 0 (128) / 128) = 1}}
  ember.mla_absorb %q, %kvb scaled %s into %ql {weight_block = array<i64: 128, 128>} : memref<?x4x16xf32>, memref<128x32xf8E4M3FN> scaled memref<2x1xf32> into memref<?x4x32xf32>
  return
}
