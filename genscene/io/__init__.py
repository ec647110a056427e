"""Reading and writing genscene's files: scene folders, cameras json, PLY, video, depth, images.

Every writer is atomic (genscene.atomic); every reader validates and raises
:class:`genscene.errors.InputError` naming the file and the field.
"""
