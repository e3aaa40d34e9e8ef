"""The RAP generator: a transformers LLaVA checkpoint, 4-bit on CUDA by default, streaming, cancellable.

A plain class: construct cheaply, load on first use (or `load()` with progress), PIL images and the
rendered prompt in, text out (token by token through a callback). Only safetensors are read; remote
code is never trusted. The folder must be in transformers' layout (convert.py makes it from the
original LLaVA layout the RAP checkpoints are published in).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from ..cancel import CancelToken
from ..errors import RapError
from . import decoding
from .device import resolve_device
from .registry import ModelSpec

QUANTIZATIONS = ("auto", "4bit", "8bit", "fp16", "bf16", "fp32")
_BYTES_PER_PARAM = {"4bit": 0.56, "8bit": 1.06, "fp16": 2.0, "bf16": 2.0, "fp32": 4.0}  # incl. quant. scales
_HEADROOM = 1.5e9  # activations, CUDA context, the vision tower's working memory
_TEXT_TOKENS = 320  # a caption prompt's text around its images (system, concept names and infos, question)
# Quantize the language model only: RAP runs its CLIP tower (and LLaVA its projector) unquantized, and
# lm_head stays fp16 as in every bitsandbytes LLM load. Module names of LlavaForConditionalGeneration in
# transformers 5.x (model.*) and 4.4x (vision_tower, multi_modal_projector, language_model.lm_head);
# bitsandbytes matches a name from the start of the module path or as its suffix.
KEEP_UNQUANTIZED = (
    "model.vision_tower",
    "model.multi_modal_projector",
    "vision_tower",
    "multi_modal_projector",
    "lm_head",
)


@dataclass(frozen=True)
class GenerationOptions:
    max_new_tokens: int = 256
    temperature: float = 0.0  # 0 = greedy: the same photo gives the same answer
    top_p: float = 0.9
    min_new_tokens: int = 0  # benchmarks force a token count (the stop token is held back until then)


DEFAULT_OPTIONS = GenerationOptions()


@dataclass(frozen=True)
class Answer:
    text: str
    tokens: int
    cancelled: bool
    first_token_s: float | None = None  # from the call to the first generated token (streamed answers)


def choose_quantization(choice: str, device: str) -> str:
    if choice not in QUANTIZATIONS:
        raise RapError(f"unknown quantization {choice!r}; use one of {', '.join(QUANTIZATIONS)}")
    if choice == "auto":
        return "4bit" if device.startswith("cuda") else "fp32"
    return choice


def check_fits(spec: ModelSpec, quantization: str, free_bytes: int, lighter: str | None) -> None:
    """Refuse a load that cannot fit, before spending a minute on it."""
    params = float(spec.options.get("params_b", 0)) * 1e9
    need = params * _BYTES_PER_PARAM[quantization] + _HEADROOM
    if params and need > free_bytes:
        hint = f"; try the lighter model `{lighter}`" if lighter and lighter != spec.name else ""
        raise RapError(
            f"{spec.name} in {quantization} needs about {need / 1e9:.1f} GB of GPU memory but only "
            f"{free_bytes / 1e9:.1f} GB is free{hint}, or a smaller quantization"
        )


class _Streamer:
    """transformers streamer protocol (put/end): decodes incrementally, hands out only new text."""

    def __init__(self, tokenizer, on_text: Callable[[str], None] | None, prompt_tokens: int) -> None:
        self.tokenizer = tokenizer
        self.on_text = on_text
        self.skip = prompt_tokens  # generate() first pushes the prompt itself
        self.ids: list[int] = []
        self.text = ""
        self.first_at: float | None = None  # when the first generated token arrived (perf_counter)

    def put(self, value) -> None:
        ids = value.reshape(-1).tolist()
        if self.skip:
            dropped = min(self.skip, len(ids))
            ids, self.skip = ids[dropped:], self.skip - dropped
        if ids:
            if self.first_at is None:
                self.first_at = time.perf_counter()
            self.ids += ids
            self._emit(final=False)

    def end(self) -> None:
        self._emit(final=True)

    def _emit(self, final: bool) -> None:
        text = self.tokenizer.decode(self.ids, skip_special_tokens=True)
        if text.endswith("\ufffd") and not final:  # half a multi-byte character: wait for the rest
            return
        new, self.text = text[len(self.text) :], text
        if new and self.on_text:
            self.on_text(new)


class RapGenerator:
    def __init__(
        self,
        spec: ModelSpec,
        folder: Path,
        device: str = "auto",
        quantization: str = "auto",
        decode_backend: str = "eager",
    ) -> None:
        self.spec = spec
        self.folder = Path(folder)
        self._device_choice = device
        self._quantization_choice = quantization
        self.decode = decoding.DecodeBackend(decode_backend)
        self._lock = threading.Lock()
        self.model = None
        self.processor = None
        self.device: str | None = None
        self.quantization: str | None = None

    @property
    def label(self) -> str:
        """What runs where, for people: "rap-llava-13b · 4bit · cuda:0", CPU runs marked slow."""
        if self.model is None:
            return f"{self.spec.name} · not loaded"
        where = "CPU (slow: minutes per answer; a CUDA GPU runs it in 4-bit)" if self.device == "cpu" else self.device
        return f"{self.spec.name} · {self.quantization} · {where}"

    @property
    def concept_limit(self) -> int:
        return int(self.spec.options.get("concept_limit", 2))

    def load(self) -> None:
        with self._lock:
            if self.model is None:
                self._load()

    def _load(self) -> None:
        import torch
        from transformers import AutoProcessor

        from .llava_loading import load_llava

        device = resolve_device(self._device_choice)
        quantization = choose_quantization(self._quantization_choice, device)
        kwargs: dict = {"use_safetensors": True, "trust_remote_code": False}
        if quantization in ("4bit", "8bit"):
            from transformers import BitsAndBytesConfig

            if device.startswith("cuda"):
                free, _ = torch.cuda.mem_get_info(torch.device(device))
                check_fits(self.spec, quantization, free, self.spec.options.get("lighter"))
            kwargs["quantization_config"] = (
                BitsAndBytesConfig(
                    load_in_4bit=True,
                    bnb_4bit_quant_type="nf4",
                    bnb_4bit_use_double_quant=True,
                    bnb_4bit_compute_dtype=torch.float16 if device.startswith("cuda") else torch.float32,
                    llm_int8_skip_modules=list(KEEP_UNQUANTIZED),
                )
                if quantization == "4bit"
                else BitsAndBytesConfig(load_in_8bit=True, llm_int8_skip_modules=list(KEEP_UNQUANTIZED))
            )
            kwargs["device_map"] = {"": device}
        else:
            kwargs["dtype"] = {"fp16": torch.float16, "bf16": torch.bfloat16, "fp32": torch.float32}[quantization]
            if device.startswith("cuda"):
                free, _ = torch.cuda.mem_get_info(torch.device(device))
                check_fits(self.spec, quantization, free, self.spec.options.get("lighter"))
        try:
            # the PIL backend reproduces LLaVA's pad-then-bicubic preprocessing exactly
            processor = AutoProcessor.from_pretrained(self.folder, trust_remote_code=False, backend="pil")
            model = load_llava(self.folder, kwargs)  # a converted copy, or the download read in place
        except (OSError, ValueError) as exc:
            raise RapError(f"generator {self.spec.name!r} in {self.folder} could not be loaded: {exc}") from None
        if "device_map" not in kwargs:
            model.to(device)
        model.eval()
        self.model, self.processor, self.device, self.quantization = model, processor, device, quantization

    def unload(self, collect: bool = True) -> None:
        """Drop the model. `collect=False` leaves the cycle collection to the caller, who must then
        call `free_cache()` (a GUI collects on its own thread: Qt objects must not be freed on others)."""
        with self._lock:
            self.model = self.processor = None
            self.decode.release()
        if collect:
            import gc

            gc.collect()
            self.free_cache()

    def free_cache(self) -> None:
        """Hand the GPU memory the dropped model held back to the driver (after the collection)."""
        if self.device and self.device.startswith("cuda"):
            import torch

            torch.cuda.empty_cache()

    def encode(self, prompt: str, images: Sequence[Image.Image]) -> dict:
        """Model inputs tokenized as RAP was trained (LLaVA's `tokenizer_image_token`): the text
        between images is tokenized chunk by chunk, each as a fresh string (so SentencePiece adds its
        word-start piece after every image), one BOS at the start, and each `<image>` becomes as many
        image tokens as the vision tower gives features. Tokenizing the whole prompt at once differs."""
        import torch

        self.load()
        processor = self.processor
        tokenizer = processor.tokenizer
        chunks = [tokenizer(chunk).input_ids for chunk in prompt.split(processor.image_token)]
        if len(chunks) - 1 != len(images):
            raise RapError(f"the prompt has {len(chunks) - 1} image slots but {len(images)} images were given")
        offset = 1 if chunks[0] and chunks[0][0] == tokenizer.bos_token_id else 0
        ids = chunks[0]
        out: dict = {}
        if images:
            pixels = processor.image_processor(list(images), return_tensors="pt")["pixel_values"]
            per_image = _image_features(processor, pixels.shape[-2:])
            image_id = tokenizer.convert_tokens_to_ids(processor.image_token)
            for chunk in chunks[1:]:
                ids = ids + [image_id] * per_image + chunk[offset:]
            out["pixel_values"] = pixels
        out["input_ids"] = torch.tensor([ids], dtype=torch.long)
        out["attention_mask"] = torch.ones_like(out["input_ids"])
        return out

    def generate(
        self,
        prompt: str,
        images: Sequence[Image.Image],
        options: GenerationOptions = DEFAULT_OPTIONS,
        on_text: Callable[[str], None] | None = None,
        cancel: CancelToken | None = None,
    ) -> Answer:
        """`prompt` is the whole rendered conversation (prompting.py), its `<image>` tokens matching
        `images` one to one and in order."""
        begin = time.perf_counter()
        self.load()
        inputs = self.encode(prompt, images)
        prompt_tokens = int(inputs["input_ids"].shape[1])
        streamer = _Streamer(self.processor.tokenizer, on_text, prompt_tokens)
        output = self._run(inputs, options, cancel, streamer)
        new_ids = output[0, prompt_tokens:]
        text = self.processor.tokenizer.decode(new_ids, skip_special_tokens=True).strip()
        first = streamer.first_at - begin if streamer.first_at is not None else None
        return Answer(text, int(new_ids.shape[0]), bool(cancel and cancel.cancelled), first)

    def generate_batch(
        self,
        prompts: Sequence[tuple[str, Sequence[Image.Image]]],
        options: GenerationOptions = DEFAULT_OPTIONS,
        cancel: CancelToken | None = None,
    ) -> list[Answer]:
        """Several (prompt, images) in one `generate` call, left-padded; with greedy decoding each
        answer is the one `generate` gives for that prompt alone. Nothing is streamed; a cancel stops
        every row at its next step (all answers then come back with `cancelled` set)."""
        if not prompts:
            return []
        self.load()
        tokenizer = self.processor.tokenizer
        encoded = [self.encode(prompt, images) for prompt, images in prompts]
        inputs = decoding.left_pad(encoded, int(pad_token_id(tokenizer)))
        width = int(inputs["input_ids"].shape[1])
        output = self._run(inputs, options, cancel, None)
        stops = self._stop_token_ids()
        cancelled = bool(cancel and cancel.cancelled)
        answers = []
        for row in output[:, width:].tolist():
            ids = decoding.trim(row, stops)
            answers.append(Answer(tokenizer.decode(ids, skip_special_tokens=True).strip(), len(ids), cancelled))
        return answers

    def _stop_token_ids(self) -> set[int]:
        """The tokens that end an answer (those `generate` stops on): a batch row is cut after its first.
        The checkpoint's end token(s) and the chat template's stop token (Phi-3's `<|end|>`, which its
        generation_config does not name)."""
        from ..prompting import template

        tokenizer = self.processor.tokenizer
        configured = self.model.generation_config.eos_token_id  # type: ignore[union-attr]
        ids = decoding.stop_ids(configured) | {tokenizer.eos_token_id}
        name = self.spec.options.get("template")
        stop = template(str(name)).stop if name else ""
        if stop and stop in tokenizer.get_vocab():  # one token; a multi-token stop text is cut off afterwards
            ids.add(tokenizer.convert_tokens_to_ids(stop))
        return {int(i) for i in ids if i is not None}

    def _run(self, inputs: dict, options: GenerationOptions, cancel: CancelToken | None, streamer):
        """One `generate` call over encoded (possibly batched) inputs: the output ids, prompts included."""
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList

        inputs = {k: v.to(self.device) for k, v in inputs.items()}
        if "pixel_values" in inputs:
            inputs["pixel_values"] = inputs["pixel_values"].to(self.model.dtype)  # type: ignore[union-attr]

        class _Cancelled(StoppingCriteria):
            def __call__(self, input_ids, scores, **kwargs) -> bool:  # checked after every step
                return bool(cancel and cancel.cancelled)

        sampling = options.temperature > 0
        processor = self.processor
        batch, width = (int(n) for n in inputs["input_ids"].shape)
        with torch.inference_mode():  # the static cache is made and reset in here: inference tensors
            decode = self.decode.generate_kwargs(self.model, batch, width + options.max_new_tokens)
            return self.model.generate(  # type: ignore[union-attr]
                **inputs,
                max_new_tokens=options.max_new_tokens,
                min_new_tokens=options.min_new_tokens or None,
                do_sample=sampling,
                temperature=options.temperature if sampling else None,
                top_p=options.top_p if sampling else None,
                streamer=streamer,
                stopping_criteria=StoppingCriteriaList([_Cancelled()]),
                eos_token_id=sorted(self._stop_token_ids()),
                pad_token_id=pad_token_id(processor.tokenizer),
                **decode,
            )

    def caption_batch_size(self, max_new_tokens: int, override: int = 0) -> int:
        """Photos per generate call for album captions: `override` when > 0; on a GPU as many as the
        free memory holds (each photo's prompt at its longest: every concept slot filled); on a CPU a
        small fixed number."""
        if override > 0:
            return override
        self.load()
        if not str(self.device).startswith("cuda"):
            return decoding.CPU_BATCH
        import torch

        text = self.model.config.get_text_config()  # type: ignore[union-attr]
        vision = self.model.config.vision_config  # type: ignore[union-attr]
        per_image = (vision.image_size // vision.patch_size) ** 2
        tokens = (self.concept_limit + 1) * per_image + _TEXT_TOKENS + max_new_tokens
        per_sample = tokens * decoding.kv_bytes_per_token(text) + (tokens - max_new_tokens) * (
            decoding.activation_bytes_per_token(text)
        )
        free, _ = torch.cuda.mem_get_info(torch.device(self.device))
        return decoding.batch_for_memory(free, per_sample)


def pad_token_id(tokenizer) -> int:
    """The tokenizer's pad id; its end token only when it has none (LLaMA's pad id is 0, a valid id)."""
    return tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id


def _image_features(processor, size) -> int:
    """Feature vectors one image gives the language model (576 for CLIP-L/336 patches of 14)."""
    height, width = (int(v) for v in size)
    patches = (height // processor.patch_size) * (width // processor.patch_size)
    extra = processor.num_additional_image_tokens  # CLIP's CLS token...
    return patches + extra - (1 if processor.vision_feature_select_strategy == "default" else 0)  # ...dropped


def generator_spec(registry, choice: str, device: str = "auto") -> ModelSpec:
    """The spec named by the settings; "auto" picks by hardware."""
    from .registry import AUTO_CHOICE, GENERATOR

    if choice == "auto":
        choice = AUTO_CHOICE[GENERATOR]["cuda" if resolve_device(device).startswith("cuda") else "cpu"]
    spec = registry.get(choice)
    if spec.kind != GENERATOR:
        raise RapError(f"model {choice!r} is a {spec.kind}, not a generator")
    return spec
