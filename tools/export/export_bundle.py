#!/usr/bin/env python3
"""Export the seed method (SeeSR + SAM2, NTIRE 2025 SRlab) to a ugcsr diffusion bundle.

Turns the published checkpoints into the directory `--model diffusion:DIR` opens (see
sr/diffusion/manifest.go for the format):

    manifest.json             graphs, signatures, latent scale, scheduler, prompts, MACs
    sam2_encoder.onnx         [1,3,1024,1024] ImageNet-normalised -> image_embeddings [1,4096,256]
    denoiser.onnx(+.data)     ControlNet + UNet: sample, timestep, encoder_hidden_states,
                              sam_hidden_states [B,4096,512], controlnet_cond [0,1] -> noise_pred
    vae_decoder.onnx(+.data)  z / 0.18215 -> image in [-1,1]
    vae_encoder.onnx(+.data)  image in [-1,1] -> latent mean (before x 0.18215)
    text_encoder.onnx(+.data) input_ids int64 [B,77] -> last_hidden_state [B,77,1024]
    tagger.onnx(+.data)       DAPE/RAM [1,3,384,384] ImageNet-normalised -> sigmoid probs [1,4585]
    negative.f16, positive_{wild,synthetic}.f16  precomputed text contexts [1,77,1024] of the
                                default prompts of each preset
    tokenizer/vocab.json, tokenizer/merges.txt, tags.txt, thresholds.txt

Float graphs are exported in fp16 (inputs and outputs too, `--fp32` keeps fp32) with their weights
as ONNX external data (the UNet and ControlNet are ~3.2 GB in fp16, past protobuf's 2 GB limit).

Needs: a CUDA GPU with >= 24 GB, torch >= 2.1, diffusers 0.21 (the method's), transformers, onnx,
onnxruntime-gpu, the NTIRE-2025-SRlab repository (for its models/, ram/ and sam2/ packages) and:
    --sd2        stabilityai/stable-diffusion-2-base (scheduler, vae, text_encoder, tokenizer)
    --seesr      the SeeSR-SAM checkpoint directory (unet/, controlnet/)
    --sam2       sam2.1_hiera_tiny.pt
    --ram        ram_swin_large_14m.pth and --dape (the DAPE LoRA weights)

    python export_bundle.py --repo NTIRE-2025-SRlab --sd2 sd2-base --seesr seesr-sam \\
        --sam2 sam2.1_hiera_tiny.pt --ram ram_swin_large_14m.pth --dape DAPE.pth --out bundle

It cannot run on the ugcsr build machines (no GPU, no weights) and nothing in Go depends on it.
After exporting it checks every graph against PyTorch on random inputs (--parity-only re-runs that).
"""
import argparse
import json
import os
import shutil
import sys

import numpy as np
import torch

# The added prompt of each published track (run.sh): the bundle carries a positive embedding for
# each, so one bundle serves both presets (sr/diffusion Preset).
ADDED_PROMPTS = {"wild": "clean, high-resolution, 8k, ultra-detailed, ultra-realistic",
                 "synthetic": "clean, high-resolution, 8k"}
NEGATIVE_PROMPT = "dotted, noise, blur, lowres, smooth"
LATENT_SCALE = 0.18215
OPSET = 17


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repo", required=True, help="checkout of Moonsofang/NTIRE-2025-SRlab")
    p.add_argument("--sd2", required=True)
    p.add_argument("--seesr", required=True)
    p.add_argument("--sam2", required=True)
    p.add_argument("--sam2-config", default="configs/sam2.1/sam2.1_hiera_t.yaml")
    p.add_argument("--ram", required=True)
    p.add_argument("--dape", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--fp32", action="store_true", help="export fp32 graphs (about twice the size)")
    p.add_argument("--parity-only", action="store_true", help="skip the export, check an existing bundle")
    return p.parse_args()


class Denoiser(torch.nn.Module):
    """ControlNet + UNet as one graph: the 12 down and 1 mid residuals stay inside."""

    def __init__(self, controlnet, unet):
        super().__init__()
        self.controlnet, self.unet = controlnet, unet

    def forward(self, sample, timestep, encoder_hidden_states, sam_hidden_states, controlnet_cond):
        down, mid = self.controlnet(sample, timestep, encoder_hidden_states=encoder_hidden_states,
                                    controlnet_cond=controlnet_cond, conditioning_scale=1.0, guess_mode=False,
                                    return_dict=False, image_encoder_hidden_states=sam_hidden_states)
        return self.unet(sample, timestep, encoder_hidden_states=encoder_hidden_states,
                         down_block_additional_residuals=down, mid_block_additional_residual=mid,
                         return_dict=False, image_encoder_hidden_states=sam_hidden_states)[0]


class SAM2Encoder(torch.nn.Module):
    """SAM2 image encoder (trunk + FPN neck): the stride-16 map plus no_mem_embed, as [1,4096,256].
    The method concatenates it with itself to [1,4096,512]; the Go runtime does that."""

    def __init__(self, sam2):
        super().__init__()
        self.sam2 = sam2

    def forward(self, image):
        out = self.sam2.forward_image(image)
        _, feats, _, _ = self.sam2._prepare_backbone_features(out)
        f = feats[-1]
        if self.sam2.directly_add_no_mem_embed:
            f = f + self.sam2.no_mem_embed
        return f.permute(1, 0, 2)  # [HW, B, C] -> [B, HW, C]


class VAEDecoder(torch.nn.Module):
    def __init__(self, vae):
        super().__init__()
        self.vae = vae

    def forward(self, latent):  # already divided by the latent scale
        return self.vae.decode(latent).sample


class VAEEncoder(torch.nn.Module):
    def __init__(self, vae):
        super().__init__()
        self.vae = vae

    def forward(self, image):  # image in [-1,1]
        return self.vae.encode(image).latent_dist.mean


class TextEncoder(torch.nn.Module):
    def __init__(self, te):
        super().__init__()
        self.te = te

    def forward(self, input_ids):
        return self.te(input_ids)[0]


class Tagger(torch.nn.Module):
    """DAPE (RAM Swin-L with LoRA): the per-tag probabilities generate_tag thresholds."""

    def __init__(self, ram):
        super().__init__()
        self.ram = ram

    def forward(self, image):
        r = self.ram
        label_embed = torch.nn.functional.relu(r.wordvec_proj(r.label_embed))
        embeds = r.image_proj(r.visual_encoder(image))
        atts = torch.ones(embeds.shape[:-1], dtype=torch.long, device=image.device)
        label_embed = label_embed.unsqueeze(0).repeat(embeds.shape[0], 1, 1)
        tagging = r.tagging_head(encoder_embeds=label_embed, encoder_hidden_states=embeds,
                                 encoder_attention_mask=atts, return_dict=False, mode="tagging")
        return torch.sigmoid(r.fc(tagging[0]).squeeze(-1))


def load(args, device, dtype):
    sys.path.insert(0, args.repo)
    sys.path.insert(0, os.path.join(args.repo, "sam2"))
    from diffusers import AutoencoderKL
    from transformers import CLIPTextModel, CLIPTokenizer
    from models.controlnet import ControlNetModel
    from models.unet_2d_condition import UNet2DConditionModel
    from ram.models.ram_lora import ram
    from sam2.build_sam import build_sam2

    m = {
        "vae": AutoencoderKL.from_pretrained(args.sd2, subfolder="vae"),
        "text": CLIPTextModel.from_pretrained(args.sd2, subfolder="text_encoder"),
        "tokenizer": CLIPTokenizer.from_pretrained(args.sd2, subfolder="tokenizer"),
        "unet": UNet2DConditionModel.from_pretrained(args.seesr, subfolder="unet"),
        "controlnet": ControlNetModel.from_pretrained(args.seesr, subfolder="controlnet"),
        "sam2": build_sam2(args.sam2_config, args.sam2, mode="eval", device=str(device), apply_postprocessing=False),
        "ram": ram(pretrained=args.ram, pretrained_condition=args.dape, image_size=384, vit="swin_l"),
    }
    for k, v in m.items():
        if isinstance(v, torch.nn.Module):
            # SAM2 and the tagger stay fp32 (small; their outputs feed fp16 graphs through Go).
            v.to(device, dtype=dtype if k in ("vae", "text", "unet", "controlnet") else torch.float32).eval()
    return m


def graphs(m, dtype):
    """Role -> (module, example inputs, input names, output names, dynamic axes, io dtype)."""
    dev = m["unet"].device
    B = 2
    f = dict(dtype=dtype, device=dev)
    f32 = dict(dtype=torch.float32, device=dev)
    return {
        "denoiser": (Denoiser(m["controlnet"], m["unet"]),
                     (torch.randn(B, 4, 64, 64, **f), torch.tensor([981, 981], device=dev),
                      torch.randn(B, 77, 1024, **f), torch.randn(B, 4096, 512, **f), torch.rand(B, 3, 512, 512, **f)),
                     ["sample", "timestep", "encoder_hidden_states", "sam_hidden_states", "controlnet_cond"], ["noise_pred"],
                     {"sample": {0: "B", 2: "h", 3: "w"}, "timestep": {0: "B"}, "encoder_hidden_states": {0: "B"},
                      "sam_hidden_states": {0: "B"}, "controlnet_cond": {0: "B", 2: "H", 3: "W"},
                      "noise_pred": {0: "B", 2: "h", 3: "w"}}, dtype),
        "vae_decoder": (VAEDecoder(m["vae"]), (torch.randn(1, 4, 64, 64, **f),), ["latent"], ["image"],
                        {"latent": {2: "h", 3: "w"}, "image": {2: "H", 3: "W"}}, dtype),
        "vae_encoder": (VAEEncoder(m["vae"]), (torch.rand(1, 3, 512, 512, **f) * 2 - 1,), ["image"], ["latent"],
                        {"image": {2: "H", 3: "W"}, "latent": {2: "h", 3: "w"}}, dtype),
        "text_encoder": (TextEncoder(m["text"]), (torch.randint(0, 49408, (2, 77), device=dev),), ["input_ids"],
                         ["last_hidden_state"], {"input_ids": {0: "B"}, "last_hidden_state": {0: "B"}}, dtype),
        "sam_encoder": (SAM2Encoder(m["sam2"]), (torch.randn(1, 3, 1024, 1024, **f32),), ["image"], ["image_embeddings"],
                        {}, torch.float32),
        "tagger": (Tagger(m["ram"]), (torch.randn(1, 3, 384, 384, **f32),), ["image"], ["probs"], {}, torch.float32),
    }


FILES = {"denoiser": "denoiser.onnx", "vae_decoder": "vae_decoder.onnx", "vae_encoder": "vae_encoder.onnx",
         "text_encoder": "text_encoder.onnx", "sam_encoder": "sam2_encoder.onnx", "tagger": "tagger.onnx"}
ROLES = {"sample": "sample", "timestep": "timestep", "encoder_hidden_states": "text", "sam_hidden_states": "sam",
         "controlnet_cond": "cond", "noise_pred": "eps", "image_embeddings": "embeddings", "last_hidden_state": "hidden"}


def export(role, spec, out):
    """torch.onnx.export, then re-save with every weight in one external data file."""
    import onnx
    mod, ex, ins, outs, axes, _ = spec
    path = os.path.join(out, FILES[role])
    tmp = path + ".tmp"
    os.makedirs(tmp, exist_ok=True)
    with torch.no_grad():
        torch.onnx.export(mod, ex, os.path.join(tmp, "m.onnx"), input_names=ins, output_names=outs,
                          dynamic_axes=axes, opset_version=OPSET, do_constant_folding=True)
    model = onnx.load(os.path.join(tmp, "m.onnx"), load_external_data=True)
    onnx.save_model(model, path, save_as_external_data=True, all_tensors_to_one_file=True,
                    location=FILES[role] + ".data", size_threshold=1024)
    shutil.rmtree(tmp)
    return path


def signature(role, spec):
    """The manifest entry: names, roles, dtypes and shapes (symbols for dynamic axes)."""
    mod, ex, ins, outs, axes, io_dtype = spec
    with torch.no_grad():
        y = mod(*ex)
    dt = {torch.float16: "float16", torch.float32: "float32", torch.int64: "int64"}

    def entry(name, t):
        shape = [axes.get(name, {}).get(i, int(d)) for i, d in enumerate(t.shape)]
        e = {"name": name, "dtype": dt[t.dtype], "shape": shape}
        if name in ROLES and ROLES[name] != name:
            e["role"] = ROLES[name]
        return e

    return {"file": FILES[role], "inputs": [entry(n, t) for n, t in zip(ins, ex)], "outputs": [entry(outs[0], y)]}


def count_macs(den, dtype):
    """MACs of one denoiser pass (batch 1, 64x64 latent): Linear and Conv modules via hooks, plus
    the two attention products (QK^T and AV) of every scaled_dot_product_attention call."""
    total = [0]

    def hook(mod, inp, out):
        if isinstance(mod, torch.nn.Linear):
            total[0] += out.numel() * mod.in_features
        elif isinstance(mod, torch.nn.Conv2d):
            total[0] += out.numel() * (mod.in_channels // mod.groups) * mod.kernel_size[0] * mod.kernel_size[1]

    sdpa = torch.nn.functional.scaled_dot_product_attention

    def counting_sdpa(q, k, v, *a, **kw):
        total[0] += 2 * q.shape[:-1].numel() * k.shape[-2] * q.shape[-1]
        return sdpa(q, k, v, *a, **kw)

    hs = [m.register_forward_hook(hook) for m in den.modules() if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d))]
    torch.nn.functional.scaled_dot_product_attention = counting_sdpa
    try:
        dev = next(den.parameters()).device
        with torch.no_grad():
            den(torch.randn(1, 4, 64, 64, dtype=dtype, device=dev), torch.tensor([501], device=dev),
                torch.randn(1, 77, 1024, dtype=dtype, device=dev), torch.randn(1, 4096, 512, dtype=dtype, device=dev),
                torch.rand(1, 3, 512, 512, dtype=dtype, device=dev))
    finally:
        torch.nn.functional.scaled_dot_product_attention = sdpa
        for h in hs:
            h.remove()
    return total[0]


def encode_prompts(m, out, dtype):
    tok, te = m["tokenizer"], m["text"]
    embs = {}
    prompts = [("negative", NEGATIVE_PROMPT)] + [("positive_" + k, ", ," + v) for k, v in ADDED_PROMPTS.items()]
    for name, text in prompts:  # no tags, no user prompt
        ids = tok(text, padding="max_length", max_length=77, truncation=True, return_tensors="pt").input_ids
        with torch.no_grad():
            e = te(ids.to(te.device))[0].to(dtype).cpu().numpy()
        suffix = "f16" if dtype == torch.float16 else "f32"
        e.astype("<f2" if dtype == torch.float16 else "<f4").tofile(os.path.join(out, f"{name}.{suffix}"))
        embs[name] = {"file": f"{name}.{suffix}", "dtype": "float16" if dtype == torch.float16 else "float32",
                      "shape": [1, 77, 1024], "prompt": text}
    os.makedirs(os.path.join(out, "tokenizer"), exist_ok=True)
    tok.save_pretrained(os.path.join(out, "tokenizer"))  # writes vocab.json and merges.txt
    return embs


def parity(out, specs):
    """Run every graph in ONNX Runtime and compare with PyTorch on the example inputs."""
    import onnxruntime as ort
    ok = True
    for role, (mod, ex, ins, outs, _, _) in specs.items():
        sess = ort.InferenceSession(os.path.join(out, FILES[role]), providers=["CUDAExecutionProvider", "CPUExecutionProvider"])
        with torch.no_grad():
            want = mod(*ex).float().cpu().numpy()
        got = sess.run(None, {n: t.cpu().numpy() for n, t in zip(ins, ex)})[0].astype(np.float32)
        err = np.abs(got - want).max() / max(np.abs(want).max(), 1e-6)
        print(f"parity {role}: max |ort - torch| / max |torch| = {err:.2e}")
        ok &= bool(err < 2e-2)
    return ok


def main():
    args = parse_args()
    dtype = torch.float32 if args.fp32 else torch.float16
    dev = torch.device("cuda")
    os.makedirs(args.out, exist_ok=True)
    m = load(args, dev, dtype)
    specs = graphs(m, dtype)
    if not args.parity_only:
        manifest = {
            "format": "ugcsr-diffusion/1", "name": "seesr-sam2-" + ("fp32" if args.fp32 else "fp16"),
            "latent_channels": 4, "latent_scale": LATENT_SCALE,
            "scheduler": {"num_train_timesteps": 1000, "beta_start": 0.00085, "beta_end": 0.012,
                          "beta_schedule": "scaled_linear", "prediction_type": "epsilon",
                          "timestep_spacing": "leading", "steps_offset": 1},
            "prompt": {"added": ADDED_PROMPTS, "negative": NEGATIVE_PROMPT},
            "graphs": {}, "embeddings": encode_prompts(m, args.out, dtype),
            "tokenizer": {"vocab": "tokenizer/vocab.json", "merges": "tokenizer/merges.txt", "max_length": 77,
                          "bos_id": m["tokenizer"].bos_token_id, "eos_id": m["tokenizer"].eos_token_id,
                          "pad_id": m["tokenizer"].pad_token_id},
            "tags": {"names": "tags.txt", "thresholds": "thresholds.txt"},
            "denoiser_macs": count_macs(specs["denoiser"][0], dtype), "denoiser_macs_at": [64, 64],
        }
        r = m["ram"]
        with open(os.path.join(args.out, "tags.txt"), "w", encoding="utf-8") as f:
            f.write("\n".join(str(t) for t in r.tag_list) + "\n")
        with open(os.path.join(args.out, "thresholds.txt"), "w") as f:
            f.write("\n".join(f"{float(v):.6g}" for v in r.class_threshold) + "\n")
        for role, spec in specs.items():
            print("exporting", role)
            export(role, spec, args.out)
            manifest["graphs"][role] = signature(role, spec)
        with open(os.path.join(args.out, "manifest.json"), "w") as f:
            json.dump(manifest, f, indent=2)
    if not parity(args.out, specs):
        sys.exit("parity check failed")


if __name__ == "__main__":
    main()
