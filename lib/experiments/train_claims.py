"""The claims chapter 10 makes about :mod:`lib.experiments.training`'s runs, as :class:`lib.claims.Claim`.

Each ``*_claims`` function takes one experiment's result and returns ``(claims, numbers)``:
a dict of claims (one value per seed, a bound, a t interval) and the descriptive numbers
the prose quotes. The page checks and glues the claims (a reversed result fails the
build); :func:`chapter_claims` gives the verification page the same objects.
"""
from __future__ import annotations

import numpy as np

from lib import claims
from lib.experiments.training import (ICS_MEASURES, LANDSCAPE_MEASURES, covariate_shift,
                                      gradient_norms, landscape, lr_sweep, noisy_bn, resnet_sweep)

__all__ = ["lr_claims", "depth_claims", "noisy_claims", "ics_claims", "landscape_claims",
           "resnet_claims", "chapter_claims"]


def _claim(key, statement, experiment, quantity, d, values, **bounds):
    return claims.Claim(key=key, chapter=10, statement=statement, experiment=experiment,
                        quantity=quantity, seeds=d["seeds"], values=tuple(values), **bounds)


def _largest_good_rate(lrs, acc, level):
    good = lrs[acc >= level]
    return float(good.max()) if good.size else float(lrs.min()) / 10


def lr_claims(d, level=0.9):
    """Batch norm trains well at learning rates where the network without it fails.

    Per seed: the largest rate of the grid at which each network reaches ``level``
    (``bn_rate``, ``plain_rate``), and the accuracies at the rate where batch norm's
    mean accuracy last reaches it.
    """
    lrs, exp = d["lr"], "lib.experiments.training.lr_sweep()"
    bn, plain = d["bn"]["per_seed"], d["plain"]["per_seed"]
    rates = {n: np.array([_largest_good_rate(lrs, d[n]["per_seed"][:, k], level)
                          for k in range(len(d["seeds"]))]) for n in ("bn", "plain")}
    top = int(np.flatnonzero(lrs == _largest_good_rate(lrs, d["bn"]["accuracy"], level))[0])
    out = {
        "factor": _claim("train-lr-factor", f"batch norm reaches {level:g} test accuracy at "
                         "larger learning rates", exp,
                         "log10 of (largest rate reaching it with BN / without)",
                         d, np.log10(rates["bn"] / rates["plain"]), low=0.0),
        "gap": _claim("train-lr-gap", f"at {lrs[top]:g} the network without batch norm fails",
                      exp, "accuracy with BN − without", d, bn[top] - plain[top], low=0.5),
        "best": _claim("train-lr-best", "the best accuracy over the grid is higher with batch norm",
                       exp, "best accuracy with BN − without", d,
                       bn.max(axis=0) - plain.max(axis=0), low=0.0),
        "fails": _claim("train-lr-fails", f"at {lrs[-1]:g} batch norm fails too", exp,
                        f"accuracy with BN at {lrs[-1]:g}", d, bn[-1], high=0.5),
    }
    fine = lrs[:-1] >= min(rates["plain"].min(), rates["bn"].min())
    numbers = {"level": level, "top": float(lrs[top]),
               "lr_grid_step": float(np.max((lrs[1:] / lrs[:-1])[fine])),
               **{f"{n}_rate_{f.__name__}": float(f(rates[n])) for n in ("bn", "plain")
                  for f in (np.min, np.max)},
               "factor": float(10 ** np.mean(np.log10(rates["bn"] / rates["plain"]))),
               "factor_min": float((rates["bn"] / rates["plain"]).min()),
               "factor_max": float((rates["bn"] / rates["plain"]).max())}
    return out, numbers


def depth_claims(d):
    """Batch norm's first-over-last ratio against the network's without it: at step 0,
    after one step, and over the rest of training (median over the recorded steps)."""
    exp = "lib.experiments.training.gradient_norms()"
    rel = d["bn"]["ratio"] / d["plain"]["ratio"]             # seeds x steps
    one = int(np.flatnonzero(d["step"] == 1)[0])
    later = d["step"] > 1
    during = np.median(rel[:, later], axis=1)
    out = {
        "init": _claim("train-dn-init", "at initialization the input-side gradient is larger, "
                       "relative to the output side, with batch norm", exp,
                       "(first/last with BN) / (first/last without), step 0", d, rel[:, 0], low=1.0),
        "during": _claim("train-dn-during", "during training the ratio stays larger with batch norm",
                         exp, "the same, median over the later steps", d, during, low=1.0),
        "shrinks": _claim("train-dn-shrinks", "the excess shrinks once training starts", exp,
                          "median during training / step 0", d, during / rel[:, 0], high=1.0),
        "step1": _claim("train-dn-step1", "one step of SGD leaves more than half of batch norm's "
                        "ratio", exp, "first/last with BN, step 1 / step 0", d,
                        d["bn"]["ratio"][:, one] / d["bn"]["ratio"][:, 0], low=0.5),
        "learn": _claim("train-dn-learn", "both networks learn", exp,
                        "lower of the two test accuracies", d,
                        np.minimum(d["bn"]["accuracy"], d["plain"]["accuracy"]), low=0.7),
    }
    numbers = {"bn_init": float(np.mean(d["bn"]["ratio"][:, 0])),
               "plain_init": float(np.mean(d["plain"]["ratio"][:, 0])),
               "bn_step1": float(np.mean(d["bn"]["ratio"][:, one])),
               "bn_during": float(np.mean(np.median(d["bn"]["ratio"][:, later], axis=1))),
               "plain_during": float(np.mean(np.median(d["plain"]["ratio"][:, later], axis=1))),
               "bn_acc": float(d["bn"]["accuracy"].mean()),
               "plain_acc": float(d["plain"]["accuracy"].mean())}
    return out, numbers


def noisy_claims(d, close=0.02, margin=0.01):
    """Noisy BN trains about as well as standard BN, better than no BN; the noise costs some
    optimization (training loss at the end, noise off)."""
    exp = "lib.experiments.training.noisy_bn()"
    acc = {n: d[n]["accuracy"] for n in d["configs"]}
    loss = {n: d[n]["train_loss"] for n in d["configs"]}
    out = {
        "close": _claim("train-nc-close", "noisy batch norm reaches the test accuracy of standard "
                        "batch norm", exp, "accuracy noisy − standard", d,
                        acc["noisy BN"] - acc["standard BN"], low=-close, high=close),
        "above": _claim("train-nc-above", "noisy batch norm is not worse than the network without "
                        f"batch norm by more than {margin:g}", exp, "accuracy noisy − no BN", d,
                        acc["noisy BN"] - acc["no BN"], low=-margin),
        "cost": _claim("train-nc-cost", "the noise costs some optimization", exp,
                       "training loss (noise off) noisy − standard", d,
                       loss["noisy BN"] - loss["standard BN"], low=0.0),
    }
    numbers = {**{f"{k}_acc": float(acc[n].mean()) for k, n in
                  (("standard", "standard BN"), ("noisy", "noisy BN"), ("none", "no BN"))},
               **{f"{k}_loss": float(loss[n].mean()) for k, n in
                  (("standard", "standard BN"), ("noisy", "noisy BN"), ("none", "no BN"))},
               "close": close, "margin": margin,
               "above_seeds": int(np.sum(acc["noisy BN"] > acc["no BN"]))}
    return out, numbers


def ics_claims(d):
    """By Santurkar et al.'s measures (absolute, relative, cosine), the shift with and without BN."""
    exp = "lib.experiments.training.covariate_shift()"
    bn, plain = d["bn"]["per_seed"], d["plain"]["per_seed"]
    out = {
        "norm": _claim("train-ic-norm", "a layer's weight gradient is smaller with batch norm",
                       exp, "mean ||G|| with BN / without", d, bn["norm"] / plain["norm"], high=1.0),
        "distance": _claim("train-ic-distance", "the shift ||G − G′|| is smaller with batch norm",
                           exp, "mean ||G − G′|| with BN / without", d,
                           bn["distance"] / plain["distance"], high=1.0),
        "relative": _claim("train-ic-relative", "so is the shift relative to ||G||", exp,
                           "mean ||G − G′||/||G|| with BN / without", d,
                           bn["relative"] / plain["relative"], high=1.0),
        "cosine": _claim("train-ic-cosine", "the gradient keeps its direction better with batch norm",
                         exp, "mean cos(G, G′) with BN − without", d,
                         bn["cosine"] - plain["cosine"], low=0.0),
    }
    numbers = {f"{n}_{k}": float(d[n]["per_seed"][k].mean()) for n in ("bn", "plain")
               for k in ICS_MEASURES}
    numbers["distance_factor"] = numbers["plain_distance"] / numbers["bn_distance"]
    numbers["relative_factor"] = numbers["plain_relative"] / numbers["bn_relative"]
    return out, numbers


def landscape_claims(d):
    """After step 0, each measure is smaller with BN; at step 0, the loss variation is not."""
    exp = "lib.experiments.training.landscape()"
    later = d["step"] > 0
    med = {n: {k: np.median(d[n]["per_seed"][k][:, later], axis=1) for k in LANDSCAPE_MEASURES}
           for n in ("bn", "plain")}
    names = {"loss_variation": "the loss varies less along the gradient",
             "gradient_change": "the gradient changes less along the gradient",
             "beta_smoothness": "the gradient changes less per distance moved (effective β-smoothness)"}
    out = {k: _claim(f"train-lc-{k.replace('_', '-')}", f"after step 0, {names[k]} with batch norm",
                     exp, f"median over steps > 0 of {k.replace('_', ' ')}, with BN / without", d,
                     med["bn"][k] / med["plain"][k], high=1.0) for k in LANDSCAPE_MEASURES}
    start = {n: d[n]["per_seed"]["loss_variation"][:, 0] for n in ("bn", "plain")}
    out["start"] = _claim("train-lc-start", "at step 0 the loss varies more along the gradient "
                          "with batch norm", exp, "loss variation at step 0, with BN / without",
                          d, start["bn"] / start["plain"], low=1.0)
    numbers = {f"{n}_{k}": float(np.mean(med[n][k])) for n in ("bn", "plain") for k in LANDSCAPE_MEASURES}
    numbers.update({f"{n}_start": float(start[n].mean()) for n in ("bn", "plain")})
    for k in LANDSCAPE_MEASURES:
        numbers[f"{k}_factor"] = numbers[f"plain_{k}"] / numbers[f"bn_{k}"]
    return out, numbers


def resnet_claims(d, at_most=0.2, good=0.9, lag=0.1):
    """Deep residual networks against the plain one with batch norm (:func:`resnet_sweep`).

    Accuracy (a diverged run counts as 0.1): the best of the grid's rates (picked on the
    test set), and the difference at the smallest and at the largest rate; the residual
    network without normalization stays below ``at_most`` at every rate, SkipInit reaches
    ``good``. Gradients: the first-over-last ratio at step 0, and its median over the
    recorded steps after step 1.
    """
    exp = "lib.experiments.training.resnet_sweep()"
    lrs, acc = d["lr"], {n: d[n]["per_seed"] for n in ("plain+bn", "residual+bn", "residual", "skipinit")}
    ratio = {n: d[n]["ratio"] for n in ("plain+bn", "residual+bn")}
    later = d["step"] > 1
    during = {n: np.median(r[:, later], axis=1) for n, r in ratio.items()}
    gap = acc["residual+bn"] - acc["plain+bn"]
    out = {
        "best": _claim("res-train-best", "the best accuracy of the grid's rates is higher with skip "
                       "connections", exp, "best accuracy residual+BN − plain+BN", d,
                       acc["residual+bn"].max(axis=0) - acc["plain+bn"].max(axis=0), low=0.0),
        "small": _claim("res-train-small", f"at the smallest rate, {lrs[0]:g}, the plain network lags",
                        exp, f"accuracy residual+BN − plain+BN at {lrs[0]:g}", d, gap[0], low=lag),
        "large": _claim("res-train-large", f"at the largest rate, {lrs[-1]:g}, the plain network lags",
                        exp, f"accuracy residual+BN − plain+BN at {lrs[-1]:g}", d, gap[-1], low=lag),
        "unnormalized": _claim("res-train-unnormalized", "without normalization the residual "
                               f"network trains at none of the rates from {lrs[0]:g} to {lrs[-1]:g}",
                               exp, "best accuracy of the grid's rates, residual without BN", d,
                               acc["residual"].max(axis=0), high=at_most, every_seed=True),
        "skipinit": _claim("res-train-skipinit", "with its branches scaled from 0 (SkipInit) it "
                           "trains without normalization", exp, "best accuracy of the grid's rates, "
                           "SkipInit", d, acc["skipinit"].max(axis=0), low=good, every_seed=True),
        "init": _claim("res-train-init", "at initialization the first block's weight gradient is "
                       "nearer the last block's with skip connections", exp,
                       "log10 of first/last, plain+BN / residual+BN, step 0", d,
                       np.log10(ratio["plain+bn"][:, 0] / ratio["residual+bn"][:, 0]),
                       low=0.0, every_seed=True),
        "during": _claim("res-train-during", f"from step {int(d['step'][later][0])} on it is not",
                         exp, "log10 of first/last, residual+BN / plain+BN, median over steps > 1", d,
                         np.log10(during["residual+bn"] / during["plain+bn"]), low=0.0),
    }
    return out, _resnet_numbers(d, acc, ratio, during, out, at_most, good)


def _resnet_numbers(d, acc, ratio, during, out, at_most, good):
    """What the prose of :func:`resnet_claims` quotes besides the claims."""
    nets = (("plain_bn", "plain+bn"), ("res_bn", "residual+bn"), ("res", "residual"),
            ("skipinit", "skipinit"))
    later = d["step"] > 1
    return {"small_lr": float(d["lr"][0]), "large_lr": float(d["lr"][-1]), "at_most": at_most,
            "good": good, "depth": d["settings"]["depth"], "ratio_lr": d["settings"]["ratio_lr"],
            "first_later_step": int(d["step"][later][0]),
            **{f"{k}_best": float(acc[n].max(axis=0).mean()) for k, n in nets},
            **{f"{k}_worst": float(acc[n].min(axis=0).mean()) for k, n in nets[:2]},
            **{f"{k}_init": float(np.mean(ratio[n][:, 0])) for k, n in nets[:2]},
            **{f"{k}_during": float(np.mean(during[n])) for k, n in nets[:2]},
            "init_factor": float(10 ** out["init"].interval[0]),
            "during_factor": float(10 ** out["during"].interval[0]),
            "res_diverged": int(d["residual"]["diverged"].sum()),
            "skipinit_diverged": int(d["skipinit"]["diverged"].sum()),
            "runs_per_net": int(len(d["lr"]) * len(d["seeds"]))}


def chapter_claims():
    """Every claim chapter 10 checks, from the same runs as the page (memoised)."""
    found = []
    for run, claim in ((lr_sweep, lr_claims), (gradient_norms, depth_claims), (noisy_bn, noisy_claims),
                       (covariate_shift, ics_claims), (landscape, landscape_claims),
                       (resnet_sweep, resnet_claims)):
        found += list(claim(run())[0].values())
    return found
