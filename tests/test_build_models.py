"""One place builds a run's networks (``genlab.models.build``): the trainers and the checkpoint
loader get the same ones, and a checkpoint rebuilds what it was trained with."""

from __future__ import annotations

import pytest
import torch

from genlab import GANConfig, VAEConfig
from genlab.device import seed_everything
from genlab.models import architecture, build_models
from genlab.models.checkpoints import load_generator, load_vae
from genlab.models.gan import Discriminator, Generator
from genlab.models.vae import VAE

pytestmark = pytest.mark.usefixtures("one_thread")

CONFIGS = {
    "vae": VAEConfig(latent_dim=8, hidden_dim=64),
    "gan": GANConfig(),
    "cgan": GANConfig(conditional=True),
    "cgan_projection": GANConfig(
        conditional=True, embed_dim=50, d_label="projection", d_dropout=0.4
    ),
}


def constructed_by_hand(config) -> list[torch.nn.Module]:
    """The networks as the trainers built them before ``build_models``, in the same order."""
    if config.model == "vae":
        return [VAE(config.latent_dim, config.hidden_dim)]
    classes = 10 if config.conditional else 0
    return [
        Generator(config.latent_dim, classes, config.embed_dim),
        Discriminator(classes, config.embed_dim, config.d_dropout, config.d_label),
    ]


@pytest.mark.parametrize("name", CONFIGS)
def test_build_models_draws_the_same_initial_weights_as_before(name):
    """A seed gives the same weights (and leaves the same random state) as the constructors
    called one by one: runs trained before and after build_models are bit-identical."""
    config = CONFIGS[name]
    seed_everything(3)
    built = list(build_models(config).values())
    after_built = torch.random.get_rng_state()
    seed_everything(3)
    by_hand = constructed_by_hand(config)
    assert torch.equal(after_built, torch.random.get_rng_state())
    assert [type(n) for n in built] == [type(n) for n in by_hand]
    for a, b in zip(built, by_hand, strict=True):
        sa, sb = a.state_dict(), b.state_dict()
        assert sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_architecture_from_a_config_and_from_a_recorded_one():
    config = CONFIGS["cgan_projection"]
    arch = architecture(config)
    assert list(arch) == ["generator", "discriminator"]
    assert arch["generator"] == {"latent_dim": 100, "num_classes": 10, "embed_dim": 50}
    assert arch["discriminator"]["label_input"] == "projection"
    assert architecture({"model": "gan", **config.to_dict()}) == arch  # config.json's dict
    # an old run's config lacks the fields added since: they take the defaults
    old = {"model": "gan", "dataset": "fashion-mnist", "conditional": True, "latent_dim": 100}
    assert architecture(old)["generator"]["embed_dim"] == 10
    assert architecture(CONFIGS["vae"]) == {"model": {"latent_dim": 8, "hidden_dim": 64}}
    with pytest.raises(ValueError, match="model='cnn'"):
        architecture({"model": "cnn"})


def test_a_checkpoint_is_rebuilt_from_its_recorded_architecture_else_its_config():
    config = CONFIGS["cgan_projection"]
    G = build_models(config)["generator"]
    recorded = {"architecture": architecture(config), "generator": G.state_dict()}
    # the recorded architecture wins over a config that no longer says it (embed_dim missing)
    stale = {"model": "gan", "dataset": "fashion-mnist", "conditional": True, "latent_dim": 100}
    net = load_generator(stale, recorded, "cpu")
    assert net.condition.embed_dim == 50
    # a checkpoint written before architectures were recorded: rebuilt from its config
    old = {"generator": G.state_dict()}
    net = load_generator(config.to_dict(), old, "cpu")
    assert all(torch.equal(net.state_dict()[k], v) for k, v in G.state_dict().items())
    with pytest.raises(RuntimeError):  # the stale config cannot hold these weights
        load_generator(stale, old, "cpu")
    vae = build_models(CONFIGS["vae"])["model"]
    loaded = load_vae(CONFIGS["vae"].to_dict(), {"model": vae.state_dict()}, "cpu")
    assert loaded.latent_dim == 8


def test_the_trainers_build_with_it_and_record_the_architecture():
    from genlab.train.gan import GANTrainer
    from genlab.train.vae import VAETrainer

    cpu = torch.device("cpu")
    vae_config = VAEConfig(train_limit=64, test_limit=64, latent_dim=8, device="cpu")
    state = VAETrainer(vae_config, cpu).state_dict()
    assert state["architecture"] == architecture(vae_config)
    gan_config = GANConfig(conditional=True, embed_dim=50, train_limit=64, device="cpu")
    trainer = GANTrainer(gan_config, cpu)
    assert trainer.state_dict()["architecture"] == architecture(gan_config)
    trainer.load_state_dict(trainer.state_dict())  # resuming ignores the record
