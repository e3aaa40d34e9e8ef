"""The Qt-free core: store, images, models, retrieval. Nothing here may import Qt."""
