"""The real-world corpus (tests/fixtures/real-world-2: 49 specs from 42 public repositories and
63 older versions, each described in SOURCES.tsv): lint errors only where the platform rejects
the spec or the deployment certainly fails; what it accepts but looks wrong is a warning.

Each file's expected outcome in plain lint is listed below: the error rules and the warning rules
(`--strict` fails on warnings). Where the platform's answer is unknown (reference §5), the verdict
is a warning; docs/linting.md lists those cases.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from paperspace_deploy.spec import LintContext, lint_file

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "real-world-2"
Rules = tuple[str, ...]

# no `name`: written for `gradient deployments create --name NAME` (or the console); the REST
# upsert needs it, so these are rejected
NO_NAME: tuple[Rules, Rules] = (("missing-key",), ("legacy-shape",))
VALID: tuple[Rules, Rules] = ((), ())
V0_SHAPE: tuple[Rules, Rules] = ((), ("legacy-shape",))  # latest/no apiVersion with v0 fields

# file -> (error rules, warning rules) in plain lint
EXPECTED: dict[str, tuple[Rules, Rules]] = {
    "AnthonyAltieri25__MNIST-C_Denoising_App__paperspace.yaml": NO_NAME,
    "DO-Solutions__paperspace-openai__paperspace.json": VALID,
    # ':image', replaced by the workflow's deploy-action image input
    "Jameshskelton__bark__.paperspace_app.yaml": ((), ("image-placeholder", "legacy-shape")),
    # `image:` empty (the action fills it), port "7860" quoted (coercion unknown)
    "Jameshskelton__pspace-deploy-huggingface-w-actions__.paperspace_app.yaml": (
        (),
        ("image-missing", "legacy-shape", "quoted-number"),
    ),
    # `image: <image-name>` template, port "7860" quoted
    "Jameshskelton__pspace-huggingface__.paperspace_app.yaml": (
        (),
        ("image-placeholder", "legacy-shape", "quoted-number"),
    ),
    "Paperspace__app-template__paperspace.json": V0_SHAPE,
    "Paperspace__app-template__paperspace.jsonc": V0_SHAPE,
    "Paperspace__stable-diffusion-app__paperspace.jsonc": V0_SHAPE,
    # v1 with instanceType and `ports: 8000`: rejected; no probe-port warning (no port 80 under v1)
    "RayWang0328__Colby-Trash-App__paperspace.yaml": (
        ("key-not-allowed", "missing-key", "wrong-type"),
        (),
    ),
    # autoscaling without maxReplicas/metrics: the API types require both
    "TLILegume__probable-engine__paperspace.yaml": (("missing-key",), ()),
    "alex-lope__pythonProject1__.paperspace_app.yaml": (
        (),
        ("legacy-shape", "possible-plaintext-credential"),
    ),
    "alex-lope__pythonProject1__paperspace_app.yaml": (
        (),
        ("legacy-shape", "possible-plaintext-credential"),
    ),
    "amarder__deployolo__paperspace.json": VALID,
    "assetsathidev1__paperspace-test__demos_gradient-demo_cli-fashion-deply-spec.yaml": NO_NAME,
    "assetsathidev1__paperspace-test__demos_gradient-demo_modif_config_paperspace.json": VALID,
    "assetsathidev1__paperspace-test__demos_gradient-demo_paperspace.json": VALID,
    "assetsathidev1__paperspace-test__paperspace.yaml": VALID,
    # accepted by the platform; the committed key is the problem (--strict fails it)
    "bnarasimha__DO-RAG__paperspace.json": ((), ("plaintext-credential",)),
    "dsivov__nebula3_vlm__deployment-spec.yaml": NO_NAME,
    "dte__serge__.paperspace_app.yaml": V0_SHAPE,
    "elropero__paperspace-flask__paperspace.yaml": VALID,
    "fernandocamargoai__gea__.paperspace_app.json": VALID,
    "gderossi__error-corp-deployment__deployment-spec.yaml": NO_NAME,
    "gradient-ai__Deployments-Arize-Tutorial__deployment.yaml": NO_NAME,
    # no name, and models as a mapping
    "gradient-ai__Deployments__fashion-mnist-deployment-spec.yaml": (
        ("missing-key", "wrong-type"),
        ("legacy-shape",),
    ),
    "gradient-ai__Open-Assistant__.paperspace_app.yaml": V0_SHAPE,
    # upper-case image path: the action's image input replaces it
    "gradient-ai__Whisper-AutoCaption__.paperspace_app.yaml": (
        (),
        ("image-reference", "legacy-shape"),
    ),
    "gradient-ai__Whisper-AutoCaption__spec.yaml": NO_NAME,
    "gradient-ai__automatic__.paperspace_app.yaml": V0_SHAPE,
    "gradient-ai__chatbot-ui__.paperspace_app.yaml": V0_SHAPE,
    "gradient-ai__onnx-deployment__deployment-spec.yaml": NO_NAME,
    "gradient-ai__resnet-fastapi__deployment-spec.yaml": NO_NAME,
    "gradient-ai__stable-diffusion-webui__.paperspace_app.yaml": VALID,
    "gradient-ai__stable-diffusion__spec.yaml": NO_NAME,
    "joshua-paperspace__BlendGAN__deployment.yaml": NO_NAME,
    "joshua-paperspace__ResNet-PyTorch-Example__deployment.yaml": NO_NAME,
    "joshua-paperspace__ResNet-PyTorch__deployment.yaml": NO_NAME,
    "joshua-paperspace__img-gen-low-res__.paperspace_app.yaml": V0_SHAPE,
    "joshua-paperspace__stable-diffusion-app__deployment.yaml": NO_NAME,
    "joshua-paperspace__test-pspace__.paperspace_app.yaml": NO_NAME,
    "joshua-paperspace__text-to-image__.paperspace_app.yaml": V0_SHAPE,
    "joshua-paperspace__txt2img-sd2-gpu__.paperspace_app.yaml": V0_SHAPE,
    # IPU machine and a cluster id as region: acceptance unknown
    "joshua-paperspace__txt2img-sd2-ipu__.paperspace_app.yaml": (
        (),
        ("legacy-shape", "machine-type", "region"),
    ),
    "mvamsiDO__PS-API-Guides__configs_test_config.json": VALID,
    "mvamsiDO__PS-API-Guides__gradient_api_example_configs_mistral_vllm_config.json": (
        (),
        ("possible-plaintext-credential",),
    ),
    "mvamsiDO__SD-API-gradient-deployment__paperspace.json": (
        (),
        ("possible-plaintext-credential",),
    ),
    "mvamsiDO__mistral7b-vllm-paperspace__paperspace.json": (
        (),
        ("possible-plaintext-credential",),
    ),
    "nmb-paperspace__FastAPI-Hugging-Face-Template-App__paperspace.yaml": VALID,
    # container.image and teamId instead of image: not a spec
    "taikhoanxzc004__paperpspace__paperspace.json": (
        ("unknown-key",),
        ("api-version-missing", "image-missing"),
    ),
    "versions/DO-Solutions__paperspace-openai__paperspace@25fe9b23b9.json": VALID,
    # command item 7860 is a number
    "versions/Jameshskelton__pspace-huggingface__.paperspace_app@8f3322dd87.yaml": (
        ("wrong-type",),
        ("legacy-shape",),
    ),
    "versions/Paperspace__app-template__paperspace@559dbe24c0.json": V0_SHAPE,
    "versions/Paperspace__app-template__paperspace@a3451968b3.json": V0_SHAPE,
    "versions/Paperspace__stable-diffusion-app__paperspace@55b402aaa8.jsonc": V0_SHAPE,
    "versions/Paperspace__stable-diffusion-app__paperspace@dd93ffaf64.jsonc": V0_SHAPE,
    # do-spaces as the DO docs write it (url, no endpoint): docs and API disagree
    "versions/TLILegume__probable-engine__paperspace@d06f48c07c.yaml": (
        (),
        ("do-spaces-shape", "integration-type"),
    ),
    "versions/TLILegume__probable-engine__paperspace@d8b108ef74.yaml": (
        (),
        ("do-spaces-shape", "integration-type"),
    ),
    # a made-up shape
    "versions/alex-lope__pythonProject1__.paperspace_app@dc4ccbfe47.yaml": (
        ("missing-key", "unknown-key"),
        ("api-version-missing", "image-missing"),
    ),
    "versions/alex-lope__pythonProject1__paperspace_app@4366c63100.yaml": (
        (),
        ("legacy-shape", "possible-plaintext-credential"),
    ),
    "versions/assetsathidev1__paperspace-test__paperspace@0fba931653.yaml": VALID,
    "versions/assetsathidev1__paperspace-test__paperspace@439ef3667e.yaml": VALID,
    "versions/assetsathidev1__paperspace-test__paperspace@4aef1e48d4.yaml": VALID,
    "versions/assetsathidev1__paperspace-test__paperspace@5a1c4eaf04.yaml": VALID,
    "versions/assetsathidev1__paperspace-test__paperspace@6f862ae7de.yaml": VALID,
    # git-lfs url that is not a URL
    "versions/assetsathidev1__paperspace-test__paperspace@712275596b.yaml": (
        ("invalid-string",),
        (),
    ),
    "versions/assetsathidev1__paperspace-test__paperspace@7fa2c47f69.yaml": VALID,
    "versions/assetsathidev1__paperspace-test__paperspace@858126adce.yaml": VALID,
    "versions/assetsathidev1__paperspace-test__paperspace@b04d23760c.yaml": VALID,
    "versions/assetsathidev1__paperspace-test__paperspace@ce1f146296.yaml": VALID,
    "versions/assetsathidev1__paperspace-test__paperspace@ea7c9b441e.yaml": VALID,
    "versions/assetsathidev1__paperspace-test__paperspace@fb90394fdb.yaml": VALID,
    "versions/assetsathidev1__paperspace-test__paperspace@ffbbc87969.yaml": VALID,
    "versions/dsivov__nebula3_vlm__deployment-spec@06fc5b25ef.yaml": NO_NAME,
    "versions/dte__serge__.paperspace_app@1ae91c1cd1.yaml": V0_SHAPE,
    "versions/dte__serge__.paperspace_app@1e80292096.yaml": V0_SHAPE,
    "versions/dte__serge__.paperspace_app@3556c8c2aa.yaml": V0_SHAPE,
    "versions/dte__serge__.paperspace_app@6871acb22e.yaml": NO_NAME,
    "versions/dte__serge__.paperspace_app@796d0929d2.yaml": V0_SHAPE,
    "versions/gradient-ai__Deployments__fashion-mnist-deployment-spec@bed3a5d990.yaml": (
        ("missing-key", "wrong-type"),
        ("legacy-shape",),
    ),
    "versions/gradient-ai__Deployments__fashion-mnist-deployment-spec@d0ef0cc0ad.yaml": (
        ("missing-key", "wrong-type"),
        ("legacy-shape",),
    ),
    # no name; mountPath 'opt/repositories' is relative
    "versions/gradient-ai__Whisper-AutoCaption__spec@02568f9a0c.yaml": (
        ("missing-key",),
        ("legacy-shape", "relative-path"),
    ),
    "versions/gradient-ai__resnet-fastapi__deployment-spec@cdc58866b8.yaml": NO_NAME,
    "versions/gradient-ai__stable-diffusion-webui__.paperspace_app@060ea0b8d9.yaml": VALID,
    "versions/gradient-ai__stable-diffusion-webui__.paperspace_app@128172949b.yaml": VALID,
    "versions/gradient-ai__stable-diffusion-webui__.paperspace_app@152bbf755f.yaml": V0_SHAPE,
    "versions/gradient-ai__stable-diffusion-webui__.paperspace_app@1b47ccc262.yaml": VALID,
    "versions/gradient-ai__stable-diffusion-webui__.paperspace_app@1d5f338757.yaml": VALID,
    # integrations as a mapping (and v0 fields under v1 below)
    "versions/gradient-ai__stable-diffusion-webui__.paperspace_app@2640d59e0b.yaml": (
        ("wrong-type",),
        (),
    ),
    "versions/gradient-ai__stable-diffusion-webui__.paperspace_app@51aabb8076.yaml": VALID,
    "versions/gradient-ai__stable-diffusion-webui__.paperspace_app@55cfeeca53.yaml": V0_SHAPE,
    "versions/gradient-ai__stable-diffusion-webui__.paperspace_app@6f77111104.yaml": (
        ("key-not-allowed", "missing-key", "wrong-type"),
        (),
    ),
    "versions/gradient-ai__stable-diffusion-webui__.paperspace_app@c6626e3b8e.yaml": V0_SHAPE,
    "versions/gradient-ai__stable-diffusion-webui__.paperspace_app@cf9a6b003f.yaml": (
        ("key-not-allowed", "missing-key", "wrong-type"),
        (),
    ),
    "versions/gradient-ai__stable-diffusion-webui__.paperspace_app@d258ed773c.yaml": VALID,
    "versions/gradient-ai__stable-diffusion-webui__.paperspace_app@ffc0432c7d.yaml": (
        ("key-not-allowed",),  # one finding at the refused key (report/rules.py, issue 13)
        ("legacy-shape",),
    ),
    "versions/gradient-ai__stable-diffusion__spec@14c9ef9570.yaml": NO_NAME,
    "versions/joshua-paperspace__BlendGAN__deployment@331a251993.yaml": NO_NAME,
    "versions/joshua-paperspace__BlendGAN__deployment@3ef304614f.yaml": NO_NAME,
    "versions/joshua-paperspace__BlendGAN__deployment@5b0941fe5d.yaml": NO_NAME,
    "versions/joshua-paperspace__BlendGAN__deployment@62243437b6.yaml": NO_NAME,
    # the spec pasted twice: yaml@2 rejects duplicate keys
    "versions/joshua-paperspace__ResNet-PyTorch__deployment@0010ebf6ca.yaml": (
        ("duplicate-key", "missing-key"),
        ("legacy-shape",),
    ),
    "versions/joshua-paperspace__ResNet-PyTorch__deployment@7b6b4b5d50.yaml": NO_NAME,
    "versions/joshua-paperspace__ResNet-PyTorch__deployment@99e66fa946.yaml": NO_NAME,
    "versions/joshua-paperspace__ResNet-PyTorch__deployment@b93ab78683.yaml": NO_NAME,
    "versions/joshua-paperspace__ResNet-PyTorch__deployment@ce6f33d7d7.yaml": NO_NAME,
    "versions/joshua-paperspace__ResNet-PyTorch__deployment@e49343b465.yaml": NO_NAME,
    "versions/joshua-paperspace__stable-diffusion-app__deployment@077b935bf9.yaml": NO_NAME,
    "versions/joshua-paperspace__stable-diffusion-app__deployment@19a3c44f3b.yaml": NO_NAME,
    "versions/joshua-paperspace__stable-diffusion-app__deployment@a19cbf6918.yaml": NO_NAME,
    "versions/nmb-paperspace__FastAPI-Hugging-Face-Template-App__paperspace@f84633bab8.yaml": VALID,
    # unquoted values
    "versions/taikhoanxzc004__paperpspace__paperspace@67b90eddc3.json": (("json-syntax",), ()),
    # 65,535 ports: schema-valid, acceptance unknown
    "versions/taikhoanxzc004__paperpspace__paperspace@6c8edee5c4.json": VALID,
}


def corpus_files() -> list[str]:
    return sorted(
        str(p.relative_to(CORPUS)) for p in CORPUS.rglob("*") if p.is_file() and p.suffix != ".tsv"
    )


def test_the_table_covers_the_corpus_and_sources_describes_it():
    assert sorted(EXPECTED) == corpus_files()
    with (CORPUS / "SOURCES.tsv").open(encoding="utf-8", newline="") as fh:
        described = {row["file"] for row in csv.DictReader(fh, delimiter="\t")}
    assert described == set(EXPECTED)
    assert len([f for f in EXPECTED if not f.startswith("versions/")]) == 49


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_expected_outcome(name: str):
    errors, warnings = EXPECTED[name]
    spec = lint_file(CORPUS / name, name)
    assert tuple(sorted({f.rule for f in spec.errors})) == errors
    assert tuple(sorted({f.rule for f in spec.warnings})) == warnings


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_deploy_with_an_image_ignores_the_spec_image(name: str):
    """The action's `image` input (the CLI's --image) replaces spec.image: missing, null,
    ':image', '<image-name>' or upper case there is no finding when one is given."""
    spec = lint_file(CORPUS / name, name, LintContext(deploying=True, image="ghcr.io/o/app:1"))
    assert not [f for f in spec.findings if f.rule.startswith("image-")]
    # deploy mode adds no error of its own here, except the 2024 shape check (legacy-shape)
    assert {f.rule for f in spec.errors} <= set(EXPECTED[name][0]) | {"legacy-shape"}


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        (
            "Jameshskelton__pspace-deploy-huggingface-w-actions__.paperspace_app.yaml",
            "image-missing",
        ),
        ("Jameshskelton__pspace-huggingface__.paperspace_app.yaml", "image-placeholder"),
        ("Jameshskelton__bark__.paperspace_app.yaml", "image-placeholder"),
    ],
)
def test_deploy_without_an_image_is_refused(name: str, rule: str):
    spec = lint_file(CORPUS / name, name, LintContext(deploying=True))
    assert rule in {f.rule for f in spec.errors}


def test_the_missing_name_error_explains_the_old_cli():
    for name, outcome in EXPECTED.items():
        if outcome == NO_NAME:
            (error,) = lint_file(CORPUS / name, name).errors
            assert "missing required key 'name'" in error.message, name
            assert "gradient deployments create --name" in error.message, name


def test_a_relative_mount_path_says_it_must_start_with_a_slash():
    name = "versions/gradient-ai__Whisper-AutoCaption__spec@02568f9a0c.yaml"
    (finding,) = [f for f in lint_file(CORPUS / name, name).findings if f.rule == "relative-path"]
    assert "'opt/repositories' must start with /" in finding.message
    assert "characters that are not allowed" not in finding.message
    assert (finding.line, finding.severity.value) == (8, "warning")


def test_no_probe_port_fallback_to_80_under_v1():
    """RayWang0328: apiVersion v1 with resources.instanceType and `ports: 8000` (not a list):
    port 80 is the v0alpha0 default only, so the probe is not compared with it."""
    name = "RayWang0328__Colby-Trash-App__paperspace.yaml"
    assert "probe-port" not in {f.rule for f in lint_file(CORPUS / name, name).findings}
