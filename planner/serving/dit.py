"""Video diffusion transformers (Wan-style DiT): parameters and FLOPs per generated second.

A clip is denoised whole: every step runs the transformer over all of the clip's latent tokens
(docs/workloads.md, "Video"). Text encoder and VAE are left out of the counts.
"""

from __future__ import annotations

from dataclasses import dataclass

from planner.serving.architecture import DecoderShape, ParamCounts, ffn_params


@dataclass(frozen=True)
class VideoClip:
    """One generated clip and its denoising schedule, as loaded (dimensionless counts)."""

    width_px: int
    height_px: int
    frames_per_clip: int
    frame_rate_fps: float
    vae_temporal_compression: int
    vae_spatial_compression: int
    latent_channels: int
    patch_frames: int
    patch_height: int
    patch_width: int
    denoising_steps: int
    guidance_passes: int
    text_tokens: int
    text_embed_dim: int
    time_embed_dim: int

    @property
    def clip_s(self) -> float:
        """Length of one clip in seconds: frames / frame rate."""
        return self.frames_per_clip / self.frame_rate_fps

    @property
    def latent_frames(self) -> int:
        """Causal video VAE: the first frame alone, then one latent frame per `t` frames."""
        return (self.frames_per_clip - 1) // self.vae_temporal_compression + 1

    @property
    def latent_tokens(self) -> int:
        """Transformer tokens per clip: latent frames x latent pixels, divided by the patch."""
        f = self.latent_frames // self.patch_frames
        h = self.height_px // self.vae_spatial_compression // self.patch_height
        w = self.width_px // self.vae_spatial_compression // self.patch_width
        return f * h * w


def dit_block_params(hidden_size: int, ffn_size: int) -> int:
    """One Wan-style diffusion-transformer block.

    Self-attention and cross-attention each: 4 (d^2 + d) projections with biases and 2 d of q/k
    RMSNorm; a LayerNorm with affine before cross-attention (2 d); a GELU MLP; 6 d of adaptive
    modulation (shift/scale/gate for attention and MLP).
    """
    d = hidden_size
    attention = 4 * (d * d + d) + 2 * d
    return 2 * attention + 2 * d + ffn_params(d, ffn_size, "gelu") + 6 * d


def dit_params(s: DecoderShape, v: VideoClip) -> ParamCounts:
    """Parameters of a Wan-style video diffusion transformer (all dense).

    patch embedding (c p_t p_h p_w d + d) + text embedding MLP (d_text d + d + d^2 + d)
    + timestep MLP (d_time d + d + d^2 + d) + timestep projection to 6 modulations (6 d^2 + 6 d)
    + layers x block + head (d x c p_t p_h p_w + c p_t p_h p_w, and 2 d of modulation).
    """
    d = s.hidden_size
    patch = v.latent_channels * v.patch_frames * v.patch_height * v.patch_width
    embeddings = (
        (patch * d + d)
        + (v.text_embed_dim * d + d + d * d + d)
        + (v.time_embed_dim * d + d + d * d + d)
        + (6 * d * d + 6 * d)
    )
    head = d * patch + patch + 2 * d
    total = float(embeddings + s.layers * dit_block_params(d, s.dense_ffn_size or 0) + head)
    return ParamCounts(total=total, active=total, dense=total, routed_experts=0.0)


def dit_flops_per_clip(s: DecoderShape, v: VideoClip) -> float:
    """FLOPs to generate one clip: steps x guidance passes x one transformer forward pass.

    One forward over L latent tokens, T text tokens, d hidden, f FFN width, N layers:
      per-token matmuls 2 L x N (4 d^2 self-attn + 2 d^2 cross q/o + 2 d f MLP)
      + cross-attention K/V of the text 2 T x N (2 d^2)
      + self-attention scores and mixing 4 L^2 d N + cross-attention 4 L T d N.
    Text encoder and VAE decoder are left out (see docs/workloads.md).
    """
    d, f, n = s.hidden_size, s.dense_ffn_size or 0, s.layers
    tokens, text = v.latent_tokens, v.text_tokens
    matmuls = 2.0 * tokens * n * (6 * d * d + 2 * d * f) + 2.0 * text * n * (2 * d * d)
    attention = 4.0 * tokens * tokens * d * n + 4.0 * tokens * text * d * n
    return (matmuls + attention) * v.denoising_steps * v.guidance_passes


def dit_flops_per_video_s(s: DecoderShape, v: VideoClip) -> float:
    """FLOPs per generated second of video: FLOPs per clip / clip length (s)."""
    return dit_flops_per_clip(s, v) / v.clip_s
