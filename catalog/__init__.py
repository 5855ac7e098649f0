"""The catalog: what is kept about every image and how it is found again. The store
(protocol and both adapters), the text embedder, thumbnails, the Description → point
mapping, and the one factory that opens it all (catalog.factory.open_catalog), so the
server, the CLI, the evaluation, the benches, tools/ and the Ray worker search with the
same views. It knows describe/ and nothing above it."""
