"""The words a search query may leave out: Snowball's English stop list
(snowballstem.org/algorithms/english/stop.txt, the list Sphinx's search uses), without the
forms with an apostrophe, which `split_words` cuts in two, and with the pieces they leave
("t" of "don't", "ll" of "you'll").

The index does not hold them: they are in nearly every page, so their postings would be the
largest part of the index while telling no page from another. search.js reads the list from
the index (`index.json`), so the build and the browser leave out the same words.
"""

ENGLISH_STOP_WORDS = frozenset({
    "a", "about", "above", "after", "again", "against", "all", "am", "an", "and", "any", "are",
    "as", "at", "be", "because", "been", "before", "being", "below", "between", "both", "but", "by",
    "cannot", "could", "did", "do", "does", "doing", "down", "during", "each", "few", "for", "from",
    "further", "had", "has", "have", "having", "he", "her", "here", "hers", "herself", "him",
    "himself", "his", "how", "i", "if", "in", "into", "is", "it", "its", "itself", "me", "more",
    "most", "my", "myself", "no", "nor", "not", "of", "off", "on", "once", "only", "or", "other",
    "ought", "our", "ours", "ourselves", "out", "over", "own", "same", "she", "should", "so",
    "some", "such", "than", "that", "the", "their", "theirs", "them", "themselves", "then", "there",
    "these", "they", "this", "those", "through", "to", "too", "under", "until", "up", "very", "was",
    "we", "were", "what", "when", "where", "which", "while", "who", "whom", "why", "with", "would",
    "you", "your", "yours", "yourself", "yourselves", "aren", "can", "couldn", "d", "didn", "doesn",
    "don", "hadn", "hasn", "haven", "isn", "let", "ll", "m", "mustn", "re", "s", "shan", "shouldn",
    "t", "ve", "wasn", "weren", "won", "wouldn",
})
