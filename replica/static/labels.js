// The page's labels by UI language (docs/replica.md, "Labels"). Korean labels come from
// the saved search-unit page (snap-1); the ones marked STAND-IN have no public evidence.
const EN = {
  ask: "Ask ChatGPT",
  picker: "Select ChatGPT model",
  send: "Send",
  stop: "Stop",
  dictate: "Dictate",
  addFiles: "Add files and more",
  addPhotos: "Add photos & files",
  webSearch: "Web search",
  search: "Search",
  searchPill: "Search, click to remove", // STAND-IN
  newChat: "New chat",
  copy: "Copy",
  youSaid: "You said:",
  chatgptSaid: "ChatGPT said:",
  selectModel: "Select model",
  power: "Power",
  welcome: "What can I help with?",
  thinking: "Thinking",
  responseActions: "Response actions",
  goodResponse: "Good response",
  badResponse: "Bad response",
  rateResponse: "Rate response", // STAND-IN
  feedbackFailed: "Could not send your feedback", // STAND-IN
};

const KO = Object.assign({}, EN, {
  ask: "ChatGPT에게 물어보세요",
  picker: "ChatGPT 모델 선택",
  send: "보내기", // STAND-IN
  stop: "중지", // STAND-IN
  dictate: "음성 입력",
  addFiles: "파일 등 추가",
  newChat: "새 채팅",
  copy: "복사",
  youSaid: "내가 한 말:",
  chatgptSaid: "ChatGPT 답변:",
  responseActions: "응답 작업",
  goodResponse: "좋은 응답",
  badResponse: "별로인 응답",
  rateResponse: "응답 평가",
});

export const LABELS = { en: EN, ko: KO };

// The slider's five steps and what each sends; the names stay English in a Korean UI too.
export const EFFORTS = [
  { name: "Instant", key: "instant", model: "gpt-5-6", effort: null },
  { name: "Medium", key: "medium", model: "gpt-5-6-thinking", effort: "standard" },
  { name: "High", key: "high", model: "gpt-5-6-thinking", effort: "extended" },
  { name: "Very High", key: "very-high", model: "gpt-5-6-thinking", effort: "max" },
  { name: "Pro", key: "pro", model: "gpt-6-pro", effort: null },
];
export const DEFAULT_EFFORT = 1;
