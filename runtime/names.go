package runtime

import (
	"errors"
	"math/rand/v2"
	"strconv"
)

// Docker's names generator (moby/pkg/namesgenerator), a subset of its
// lists: an adjective and the surname of a notable scientist or hacker.
var (
	nameLeft = []string{
		"admiring", "adoring", "affectionate", "agitated", "amazing", "angry",
		"awesome", "beautiful", "blissful", "bold", "boring", "brave", "busy",
		"charming", "clever", "compassionate", "competent", "condescending",
		"confident", "cool", "cranky", "crazy", "dazzling", "determined",
		"distracted", "dreamy", "eager", "ecstatic", "elastic", "elated",
		"elegant", "eloquent", "epic", "exciting", "fervent", "festive",
		"flamboyant", "focused", "friendly", "frosty", "funny", "gallant",
		"gifted", "goofy", "gracious", "great", "happy", "hardcore",
		"heuristic", "hopeful", "hungry", "infallible", "inspiring",
		"intelligent", "interesting", "jolly", "jovial", "keen", "kind",
		"laughing", "loving", "lucid", "magical", "modest", "musing",
		"mystifying", "naughty", "nervous", "nice", "nifty", "nostalgic",
		"objective", "optimistic", "peaceful", "pedantic", "pensive",
		"practical", "priceless", "quirky", "quizzical", "relaxed",
		"reverent", "romantic", "sad", "serene", "sharp", "silly",
		"sleepy", "stoic", "strange", "stupefied", "suspicious", "sweet",
		"tender", "thirsty", "trusting", "upbeat", "vibrant", "vigilant",
		"vigorous", "wizardly", "wonderful", "xenodochial", "youthful",
		"zealous", "zen",
	}
	nameRight = []string{
		"agnesi", "albattani", "allen", "almeida", "archimedes", "ardinghelli",
		"babbage", "banach", "bardeen", "bartik", "bell", "bhabha", "blackwell",
		"bohr", "booth", "borg", "bose", "brahmagupta", "brattain", "brown",
		"carson", "cerf", "chandrasekhar", "clarke", "curie", "darwin",
		"davinci", "dijkstra", "dirac", "einstein", "elion", "engelbart",
		"euclid", "euler", "faraday", "fermat", "fermi", "feynman", "franklin",
		"galileo", "gauss", "goldberg", "goodall", "hamilton", "hawking",
		"heisenberg", "hodgkin", "hopper", "hypatia", "jackson", "jang",
		"johnson", "kalam", "kepler", "knuth", "kowalevski", "lamarr",
		"lamport", "leakey", "lovelace", "lumiere", "mayer", "mccarthy",
		"mclean", "meitner", "mendel", "merkle", "mirzakhani", "montalcini",
		"morse", "murdock", "newton", "nobel", "noether", "pascal", "pasteur",
		"payne", "perlman", "pike", "poincare", "ptolemy", "raman",
		"ramanujan", "ride", "ritchie", "rosalind", "sammet", "shannon",
		"shockley", "sinoussi", "stallman", "swartz", "tesla", "thompson",
		"torvalds", "turing", "villani", "wescoff", "wilbur", "wiles",
		"williams", "wozniak", "wright", "yalow", "yonath",
	}
)

// randomName returns a name such as "focused_turing". From the second try
// on, a digit is appended, as Docker does after a clash.
func randomName(try int) string {
	for {
		name := nameLeft[rand.IntN(len(nameLeft))] + "_" + nameRight[rand.IntN(len(nameRight))]
		if name == "boring_wozniak" { // Steve Wozniak is not boring
			continue
		}
		if try > 0 {
			name += strconv.Itoa(rand.IntN(10))
		}
		return name
	}
}

// generateName picks a random name that no container in use (names, from
// containerNames) has. The caller holds the lock on Root/containers.
func generateName(used map[string]string) (string, error) {
	for try := 0; try < 100; try++ {
		if n := randomName(try); used[n] == "" {
			return n, nil
		}
	}
	return "", errors.New("generating a container name: every name tried is taken")
}
