package storagetest

var changeTests = []test{}
