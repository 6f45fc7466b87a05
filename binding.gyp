{
  "targets": [
    {
      "target_name": "sparse_seek",
      "sources": ["tools/native/sparse-seek.c"]
    }
  ]
}
