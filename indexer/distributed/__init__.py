"""Indexing past one machine: a Ray Data job that describes a folder or an object-store
prefix on a pool of resident Describers and writes to a Qdrant server or cluster.

`job.run_ray_index` is the job; `cluster` opens the store it writes to; `source`
lists and hashes the files; `worker` is the actor that describes and embeds them.
Ray is an optional extra (`pip install 'imgdesc[ray]'`): nothing outside this
package imports it.
"""
