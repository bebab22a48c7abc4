import GigsRelay
