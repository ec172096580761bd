"""Shared library of the book *Backprop through Batch Norm*.

One module a job: ``batchnorm`` (forward and backward passes),
``gradcheck`` (finite differences), and the modules the chapters add.
"""
